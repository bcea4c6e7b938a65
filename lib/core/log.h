/*
 * log.h - leveled logging to stderr.
 *
 * One process-wide level; messages below it cost one comparison.  Messages go
 * to stderr prefixed with the program name so they never mix with flow output
 * on stdout.
 */
#ifndef FK_LOG_H
#define FK_LOG_H

#include <stdarg.h>

enum fk_log_level {
    FK_LOG_ERROR = 0,
    FK_LOG_WARN = 1,
    FK_LOG_INFO = 2,
    FK_LOG_DEBUG = 3,
};

/* Set the program name used as prefix (pointer must outlive all logging). */
void fk_log_init(const char *progname, enum fk_log_level level);

/* Change the level at run time. */
void fk_log_set_level(enum fk_log_level level);

/* Current level; cheap enough for hot paths to test before formatting. */
enum fk_log_level fk_log_level(void);

/* Write messages as JSON objects ({"time":..,"level":..,"program":..,"msg":..})
 * instead of "prog: level: msg" lines (GoFlow2's -logfmt json). */
void fk_log_set_json(int on);

/* Parse "error|warn|warning|info|debug"; returns -1 when the name is unknown. */
int fk_log_level_parse(const char *name);

/* printf-style message at a level; a newline is appended. */
void fk_log(enum fk_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define fk_err(...)   fk_log(FK_LOG_ERROR, __VA_ARGS__)
#define fk_warn(...)  fk_log(FK_LOG_WARN, __VA_ARGS__)
#define fk_info(...)  fk_log(FK_LOG_INFO, __VA_ARGS__)
#define fk_debug(...) fk_log(FK_LOG_DEBUG, __VA_ARGS__)

/*
 * An error message buffer filled by functions that can fail on user input, so
 * the caller decides how to report it (stderr at start-up, a counter later).
 */
typedef struct fk_err_st {
    char msg[512];
} fk_err_t;

/* Format into e->msg (truncated to fit); returns -1 so callers can `return fk_errf(...)`. */
int fk_errf(fk_err_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* FK_LOG_H */
