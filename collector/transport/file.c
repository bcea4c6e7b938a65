/*
 * file.c - GoFlow2's file transport: records (with -transport.file.sep, which
 * the worker already appended) go to a file opened for appending, or to
 * stdout.  SIGHUP reopens the file for log rotation (goflow2-spec.md 1).
 *
 * Batches arrive whole from the workers (256 KiB or an idle worker's rest), so
 * one lock and one fwrite per batch keep records of different workers from
 * interleaving.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport.h"

typedef struct file_tp_st {
    fc_transport_t base;
    pthread_mutex_t mu; /* out, path and the counters */
    FILE *out;
    char *path; /* NULL: stdout (not reopened, not closed) */
    fc_tstats_t st;
} file_tp_t;

static int file_send(fc_transport_t *t, const uint8_t *data, size_t len, const fc_tmsg_t *m,
                     size_t n)
{
    file_tp_t *f = (file_tp_t *)t;
    int rc = 0;

    (void)m;
    if (len == 0)
        return 0;
    pthread_mutex_lock(&f->mu);
    f->st.messages += n;
    f->st.bytes += len;
    if (fwrite(data, 1, len, f->out) != len) {
        f->st.failed += n ? n : 1;
        rc = -1;
    } else {
        f->st.delivered += n;
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static void file_reopen(fc_transport_t *t)
{
    file_tp_t *f = (file_tp_t *)t;
    if (!f->path)
        return;
    pthread_mutex_lock(&f->mu);
    FILE *nf = fopen(f->path, "a");
    if (nf) {
        fclose(f->out);
        f->out = nf;
    } else {
        fk_err("-transport.file %s: cannot reopen: %s", f->path, strerror(errno));
    }
    pthread_mutex_unlock(&f->mu);
}

static void file_stats(fc_transport_t *t, fc_tstats_t *st)
{
    file_tp_t *f = (file_tp_t *)t;
    pthread_mutex_lock(&f->mu);
    *st = f->st;
    pthread_mutex_unlock(&f->mu);
}

static void file_close(fc_transport_t *t, fc_tstats_t *final)
{
    file_tp_t *f = (file_tp_t *)t;
    if (fflush(f->out) != 0)
        f->st.failed++;
    if (f->path && fclose(f->out) != 0)
        f->st.failed++;
    if (final)
        *final = f->st;
    pthread_mutex_destroy(&f->mu);
    free(f->path);
    free(f);
}

static const fc_transport_ops_t file_ops = {
    .name = "file",
    .messages = false, /* a byte stream: the batch is written as it is */
    .send = file_send,
    .reopen = file_reopen,
    .tick = NULL,
    .stats = file_stats,
    .close = file_close,
};

fc_transport_t *fc_transport_file_new(const char *path, fk_err_t *e)
{
    file_tp_t *f = calloc(1, sizeof(*f));
    if (!f) {
        fk_errf(e, "out of memory");
        return NULL;
    }
    f->base.ops = &file_ops;
    if (path && path[0]) {
        f->path = strdup(path);
        f->out = f->path ? fopen(path, "a") : NULL;
        if (!f->out) {
            fk_errf(e, "-transport.file %s: %s", path, f->path ? strerror(errno) : "out of memory");
            free(f->path);
            free(f);
            return NULL;
        }
    } else {
        f->out = stdout;
    }
    pthread_mutex_init(&f->mu, NULL);
    return &f->base;
}
