/*
 * The C-variadic entry points of the OFX parameter and message suites.
 *
 * Stable Rust cannot define a variadic function, so these read their arguments with
 * va_arg according to the parameter's type (asked of Rust through ofxh_param_shape)
 * and forward to plain extern "C" functions implemented in src/suites/param.rs and
 * src/suites/message.rs. On x86-64 a double passed through "..." is a double, an int
 * an int, a string a char*; getters receive pointers to those.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef int OfxStatus;
typedef void *Handle;

enum { kOfxStatFailed = 1, kOfxStatErrBadHandle = 9, kOfxStatErrValue = 11 };

/* How values cross the ABI; mirrors params::Storage. */
enum { STORE_DOUBLE = 0, STORE_INT = 1, STORE_TEXT = 2, STORE_NONE = 3 };

/* Implemented in Rust. values has room for 4 numbers. */
OfxStatus ofxh_param_shape(Handle param, int *storage, int *dims);
OfxStatus ofxh_param_get(Handle param, int at_time, double time, double *values, const char **text);
OfxStatus ofxh_param_set(Handle param, int at_time, double time, const double *values, const char *text);
OfxStatus ofxh_param_derivative(Handle param, double time, double *values);
OfxStatus ofxh_param_integral(Handle param, double time1, double time2, double *values);
OfxStatus ofxh_message_text(Handle handle, const char *type, const char *id, const char *text, int persistent);

/* Writes values into the caller's pointers: double*, int* or const char** per dimension. */
static OfxStatus store_out(va_list *ap, int storage, int dims, const double *values, const char *text)
{
    int i;
    if (storage == STORE_TEXT) {
        const char **out = va_arg(*ap, const char **);
        if (!out) return kOfxStatErrValue;
        *out = text;
        return 0;
    }
    for (i = 0; i < dims; ++i) {
        if (storage == STORE_DOUBLE) {
            double *out = va_arg(*ap, double *);
            if (!out) return kOfxStatErrValue;
            *out = values[i];
        } else {
            int *out = va_arg(*ap, int *);
            if (!out) return kOfxStatErrValue;
            *out = (int)values[i];
        }
    }
    return 0;
}

/* Reads the values a setter was given. */
static void read_in(va_list *ap, int storage, int dims, double *values, const char **text)
{
    int i;
    *text = 0;
    if (storage == STORE_TEXT) {
        *text = va_arg(*ap, const char *);
        return;
    }
    for (i = 0; i < dims; ++i)
        values[i] = storage == STORE_DOUBLE ? va_arg(*ap, double) : (double)va_arg(*ap, int);
}

static OfxStatus get_value(Handle param, int at_time, double time, va_list *ap)
{
    int storage = STORE_NONE, dims = 0;
    double values[4] = {0, 0, 0, 0};
    const char *text = 0;
    OfxStatus st = ofxh_param_shape(param, &storage, &dims);
    if (st) return st;
    st = ofxh_param_get(param, at_time, time, values, &text);
    if (st) return st;
    return store_out(ap, storage, dims, values, text);
}

static OfxStatus set_value(Handle param, int at_time, double time, va_list *ap)
{
    int storage = STORE_NONE, dims = 0;
    double values[4] = {0, 0, 0, 0};
    const char *text = 0;
    OfxStatus st = ofxh_param_shape(param, &storage, &dims);
    if (st) return st;
    read_in(ap, storage, dims, values, &text);
    return ofxh_param_set(param, at_time, time, values, text);
}

OfxStatus ofxh_paramGetValue(Handle param, ...)
{
    va_list ap;
    OfxStatus st;
    va_start(ap, param);
    st = get_value(param, 0, 0.0, &ap);
    va_end(ap);
    return st;
}

OfxStatus ofxh_paramGetValueAtTime(Handle param, double time, ...)
{
    va_list ap;
    OfxStatus st;
    va_start(ap, time);
    st = get_value(param, 1, time, &ap);
    va_end(ap);
    return st;
}

OfxStatus ofxh_paramSetValue(Handle param, ...)
{
    va_list ap;
    OfxStatus st;
    va_start(ap, param);
    st = set_value(param, 0, 0.0, &ap);
    va_end(ap);
    return st;
}

OfxStatus ofxh_paramSetValueAtTime(Handle param, double time, ...)
{
    va_list ap;
    OfxStatus st;
    va_start(ap, time);
    st = set_value(param, 1, time, &ap);
    va_end(ap);
    return st;
}

/* Derivatives and integrals only exist for double parameters: outputs are double*. */
static OfxStatus store_doubles(Handle param, const double *values, va_list *ap)
{
    int storage = STORE_NONE, dims = 0;
    OfxStatus st = ofxh_param_shape(param, &storage, &dims);
    if (st) return st;
    return store_out(ap, STORE_DOUBLE, dims, values, 0);
}

OfxStatus ofxh_paramGetDerivative(Handle param, double time, ...)
{
    va_list ap;
    double values[4] = {0, 0, 0, 0};
    OfxStatus st = ofxh_param_derivative(param, time, values);
    if (st) return st;
    va_start(ap, time);
    st = store_doubles(param, values, &ap);
    va_end(ap);
    return st;
}

OfxStatus ofxh_paramGetIntegral(Handle param, double time1, double time2, ...)
{
    va_list ap;
    double values[4] = {0, 0, 0, 0};
    OfxStatus st = ofxh_param_integral(param, time1, time2, values);
    if (st) return st;
    va_start(ap, time2);
    st = store_doubles(param, values, &ap);
    va_end(ap);
    return st;
}

/* printf-formats a message and hands the text to Rust. */
static OfxStatus post(Handle handle, const char *type, const char *id, int persistent, const char *format, va_list ap)
{
    va_list copy;
    int n;
    char *text;
    OfxStatus st;
    if (!format) return ofxh_message_text(handle, type, id, "", persistent);
    va_copy(copy, ap);
    n = vsnprintf(0, 0, format, copy);
    va_end(copy);
    if (n < 0) return kOfxStatFailed;
    text = (char *)malloc((size_t)n + 1);
    if (!text) return kOfxStatFailed;
    vsnprintf(text, (size_t)n + 1, format, ap);
    st = ofxh_message_text(handle, type, id, text, persistent);
    free(text);
    return st;
}

OfxStatus ofxh_message(Handle handle, const char *type, const char *id, const char *format, ...)
{
    va_list ap;
    OfxStatus st;
    va_start(ap, format);
    st = post(handle, type, id, 0, format, ap);
    va_end(ap);
    return st;
}

OfxStatus ofxh_setPersistentMessage(Handle handle, const char *type, const char *id, const char *format, ...)
{
    va_list ap;
    OfxStatus st;
    va_start(ap, format);
    st = post(handle, type, id, 1, format, ap);
    va_end(ap);
    return st;
}
