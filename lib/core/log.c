/*
 * log.c - leveled logging to stderr.
 */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *g_prog = "flowkit";
static enum fk_log_level g_level = FK_LOG_WARN;
static int g_json;

void fk_log_set_json(int on)
{
    g_json = on;
}

void fk_log_init(const char *progname, enum fk_log_level level)
{
    if (progname) {
        const char *slash = strrchr(progname, '/');
        g_prog = slash ? slash + 1 : progname;
    }
    g_level = level;
}

void fk_log_set_level(enum fk_log_level level)
{
    g_level = level;
}

enum fk_log_level fk_log_level(void)
{
    return g_level;
}

int fk_log_level_parse(const char *name)
{
    static const struct {
        const char *name;
        enum fk_log_level level;
    } names[] = {
        {"error", FK_LOG_ERROR}, {"warn", FK_LOG_WARN},   {"warning", FK_LOG_WARN},
        {"info", FK_LOG_INFO},   {"debug", FK_LOG_DEBUG},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(name, names[i].name) == 0)
            return (int)names[i].level;
    return -1;
}

void fk_log(enum fk_log_level level, const char *fmt, ...)
{
    static const char *tag[] = {"error", "warning", "info", "debug"};
    va_list ap;

    if (level > g_level)
        return;
    if (g_json) {
        char msg[1024];
        struct timespec ts;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        clock_gettime(CLOCK_REALTIME, &ts);
        fprintf(stderr, "{\"time\":%lld.%03ld,\"level\":\"%s\",\"program\":\"%s\",\"msg\":\"",
                (long long)ts.tv_sec, ts.tv_nsec / 1000000, tag[level], g_prog);
        for (const char *p = msg; *p; p++) {
            unsigned char c = (unsigned char)*p;
            if (c == '"' || c == '\\')
                fprintf(stderr, "\\%c", c);
            else if (c < 0x20)
                fprintf(stderr, "\\u%04x", c);
            else
                fputc(c, stderr);
        }
        fputs("\"}\n", stderr);
        return;
    }
    fprintf(stderr, "%s: %s: ", g_prog, tag[level]);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int fk_errf(fk_err_t *e, const char *fmt, ...)
{
    va_list ap;

    if (!e)
        return -1;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return -1;
}
