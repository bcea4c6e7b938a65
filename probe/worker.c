/*
 * worker.c - one input's packet loop.
 */
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void human(char *out, size_t n, double v, const char *unit)
{
    static const char *pfx[] = {"", "k", "M", "G", "T"};
    int i = 0;
    while (v >= 1000.0 && i < 4) {
        v /= 1000.0;
        i++;
    }
    snprintf(out, n, i ? "%.1f %s%s" : "%.0f %s%s", v, pfx[i], unit);
}

static void draw_progress(fp_worker_t *w, double t0, bool final)
{
    uint64_t done = 0, total = 0;
    fp_cache_stats_t cs;
    char a[32], b[32], r[32];
    double dt = now_mono() - t0;

    if (w->in->progress)
        w->in->progress(w->in_ctx, &done, &total);
    fp_cache_get_stats(w->cache, &cs);
    human(a, sizeof(a), (double)done, "B");
    human(b, sizeof(b), (double)total, "B");
    human(r, sizeof(r), dt > 0 ? (double)w->st.frames / dt : 0, "pkt/s");
    if (total)
        fprintf(stderr, "\r\033[K%3.0f%%  %s of %s  %s  %llu flows",
                100.0 * (double)done / (double)total, a, b, r,
                (unsigned long long)cs.exported + cs.flows);
    else
        fprintf(stderr, "\r\033[K%s read  %s  %llu flows", a, r,
                (unsigned long long)cs.exported + cs.flows);
    if (final)
        fprintf(stderr, "\r\033[K");
    fflush(stderr);
}

static uint64_t now_real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void publish(fp_worker_t *w, bool running)
{
    fp_worker_snap_t s;

    s.parse = w->st;
    fp_cache_get_stats(w->cache, &s.cache);
    memset(&s.input, 0, sizeof(s.input));
    if (w->in->stats)
        w->in->stats(w->in_ctx, &s.input);
    s.running = running;
    s.cpu_s = thread_cpu();
    pthread_mutex_lock(&w->lock);
    w->snap = s;
    pthread_mutex_unlock(&w->lock);
}

void fp_worker_snapshot(fp_worker_t *w, fp_worker_snap_t *out)
{
    pthread_mutex_lock(&w->lock);
    *out = w->snap;
    pthread_mutex_unlock(&w->lock);
}

/* Parse one frame into *pkt and count it; true when it has a flow key. */
static inline bool account(fp_worker_t *w, int link, const fp_frame_t *fr, fk_packet_t *pkt)
{
    w->st.frames++;
    w->st.frame_bytes += fr->wirelen;
    fk_packet_parse(pkt, link, fr->data, fr->caplen, fr->wirelen, fr->ts_ns);
    if (pkt->err)
        w->st.reason[pkt->err_layer][pkt->err]++;
    if (!fk_packet_has_key(pkt)) {
        w->st.not_parsed++;
        return false;
    }
    w->st.parsed++;
    w->st.parsed_bytes += pkt->ip_len;
    return true;
}

void fp_worker_packet(fp_worker_t *w, int link, const fp_frame_t *fr)
{
    fk_packet_t pkt;

    if (account(w, link, fr, &pkt))
        fp_cache_put(w->cache, &pkt);
}

int fp_worker_run(fp_worker_t *w, fk_err_t *e)
{
    int link = w->in->link(w->in_ctx);
    unsigned batch = w->batch ? w->batch : FP_BATCH;
    fp_frame_t *fr = calloc(batch, sizeof(*fr));
    fk_packet_t *pkt = calloc(batch, sizeof(*pkt));
    double t0 = now_mono(), last_draw = t0, last_pub = t0;
    uint64_t next_check = 4096;
    int rc = 0;
    bool live = w->in->live && w->in->live(w->in_ctx), draining = false;
    double drain_until = 0;

    if (!fr || !pkt) {
        free(fr);
        free(pkt);
        fp_cache_flush(w->cache);
        return fk_errf(e, "%s: out of memory", w->label);
    }
    publish(w, true);
    for (;;) {
        unsigned max = batch;
        /* Stop: a file stops here; a live input first takes what the kernel
         * already captured (until it has nothing more at once), so frames
         * that were on the wire before the signal are not lost. */
        if (w->stop && *w->stop && !draining) {
            if (!live)
                break;
            draining = true;
            drain_until = now_mono() + 1.0; /* a busy link never goes idle: bound it */
        }
        if (draining && now_mono() > drain_until)
            break;
        if (w->max_packets) {
            if (w->st.frames >= w->max_packets)
                break;
            if (w->max_packets - w->st.frames < max)
                max = (unsigned)(w->max_packets - w->st.frames);
        }
        int n = w->in->next(w->in_ctx, fr, max, e);
        if (n == FP_IN_IDLE && draining)
            break;
        if (n == FP_IN_IDLE) {
            /* A quiet live link: flows still end on time, counters still move. */
            fp_cache_expire(w->cache, now_real_ns());
            next_check = w->st.frames;
        } else if (n < 0) {
            rc = -1;
            break;
        } else if (n == 0) {
            break;
        } else {
            /* Parse the whole batch, then hand the packets with a key to the
             * cache together so it can prefetch flow rows across them. */
            size_t m = 0;
            for (int i = 0; i < n; i++)
                if (account(w, link, &fr[i], &pkt[m]))
                    m++;
            fp_cache_put_batch(w->cache, pkt, m);
        }

        /* Look at the clock only every 4096 frames (or when idle): it is not free. */
        if (w->st.frames >= next_check) {
            double t = now_mono();
            next_check = w->st.frames + 4096;
            if (t - last_pub >= 0.1) {
                publish(w, true);
                last_pub = t;
            }
            if (w->progress && t - last_draw >= 0.25) {
                draw_progress(w, t0, false);
                last_draw = t;
            }
        }
    }
    if (w->progress)
        draw_progress(w, t0, true);
    fp_cache_flush(w->cache);
    publish(w, false);
    free(fr);
    free(pkt);
    return rc;
}
