/* Symbol visibility. The library is built with -fvisibility=hidden; only what is
 * marked PLCIO_API is exported from libplcio.so. */
#ifndef PLCIO_EXPORT_H
#define PLCIO_EXPORT_H

#if defined(PLCIO_BUILDING) && (defined(__GNUC__) || defined(__clang__))
#define PLCIO_API __attribute__((visibility("default")))
#else
#define PLCIO_API
#endif

#if defined(__GNUC__) || defined(__clang__)
#define PLCIO_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define PLCIO_NODISCARD         __attribute__((warn_unused_result))
#else
#define PLCIO_PRINTF(fmt, args)
#define PLCIO_NODISCARD
#endif

#ifdef __cplusplus
#define PLCIO_BEGIN_DECLS extern "C" {
#define PLCIO_END_DECLS   }
#else
#define PLCIO_BEGIN_DECLS
#define PLCIO_END_DECLS
#endif

#endif
