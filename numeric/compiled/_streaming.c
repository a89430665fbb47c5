/* The outer product Ψ·x̄ᵀ written with streaming (non-temporal) stores.

   A large gradient is written once and not read back soon: an ordinary store first reads each cache line
   it writes into (to own it), so writing 12 MB moves 24 MB. A streaming store writes the line whole,
   past the caches. Each entry is the one product psi[i] * x[j], rounded once, as numpy's broadcasting
   computes it: the numbers are the same bit for bit (no fused or reordered arithmetic: built without
   -ffast-math, and there is no addition to fuse), but for which NaN's payload a product of two NaNs
   carries (the processor keeps the first operand's).

   outer_into(psi, x, out): psi has m float64, x has n, out m·n (C order, writable); the caller
   (gradproof.numeric.compiled.products) checks dtypes, shapes and contiguity. Where the processor has no
   streaming stores of doubles (not x86-64), STREAMING is 0 and the caller keeps numpy. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>
#define STREAMING 1
#else
#define STREAMING 0
#endif

static void outer_rows(const double *psi, Py_ssize_t m, const double *x, Py_ssize_t n, double *out)
{
    for (Py_ssize_t i = 0; i < m; i++) {
        const double p = psi[i];
        double *row = out + i * n;
        Py_ssize_t j = 0;
#if STREAMING
        for (; j < n && ((size_t)(row + j) & 15); j++)   /* to a 16-byte boundary */
            row[j] = p * x[j];
        const __m128d pp = _mm_set1_pd(p);
        for (; j + 2 <= n; j += 2)
            _mm_stream_pd(row + j, _mm_mul_pd(pp, _mm_loadu_pd(x + j)));
#endif
        for (; j < n; j++)
            row[j] = p * x[j];
    }
#if STREAMING
    _mm_sfence();   /* the streamed lines are visible before anyone reads the result */
#endif
}

static PyObject *outer_into(PyObject *self, PyObject *args)
{
    Py_buffer psi, x, out;
    if (!PyArg_ParseTuple(args, "y*y*w*", &psi, &x, &out))
        return NULL;
    Py_ssize_t m = psi.len / (Py_ssize_t)sizeof(double), n = x.len / (Py_ssize_t)sizeof(double);
    if (psi.len % sizeof(double) || x.len % sizeof(double) || out.len != m * n * (Py_ssize_t)sizeof(double)) {
        PyErr_SetString(PyExc_ValueError, "outer_into: out must hold len(psi)·len(x) doubles");
    } else {
        Py_BEGIN_ALLOW_THREADS
        outer_rows((const double *)psi.buf, m, (const double *)x.buf, n, (double *)out.buf);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&psi);
    PyBuffer_Release(&x);
    PyBuffer_Release(&out);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"outer_into", outer_into, METH_VARARGS, "outer_into(psi, x, out): out[i, j] = psi[i] * x[j], streamed"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_streaming", NULL, -1, methods};

PyMODINIT_FUNC PyInit__streaming(void)
{
    PyObject *made = PyModule_Create(&module);
    if (made != NULL && PyModule_AddIntConstant(made, "STREAMING", STREAMING) < 0) {
        Py_DECREF(made);
        return NULL;
    }
    return made;
}
