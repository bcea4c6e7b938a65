/*
 * worker.c - one input's packet loop.
 */
#include "worker.h"

#include <stdio.h>
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
        fprintf(stderr, "\r\033[K%3.0f%%  %s of %s  %s  %llu flows", 100.0 * (double)done / (double)total,
                a, b, r, (unsigned long long)cs.exported + cs.flows);
    else
        fprintf(stderr, "\r\033[K%s read  %s  %llu flows", a, r,
                (unsigned long long)cs.exported + cs.flows);
    if (final)
        fprintf(stderr, "\r\033[K");
    fflush(stderr);
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
    fp_frame_t fr[FP_BATCH];
    fk_packet_t pkt[FP_BATCH];
    double t0 = now_mono(), last = t0;
    uint64_t next_check = 1 << 16;
    int rc = 0;

    for (;;) {
        unsigned max = FP_BATCH;
        if (w->stop && *w->stop)
            break;
        if (w->max_packets) {
            if (w->st.frames >= w->max_packets)
                break;
            if (w->max_packets - w->st.frames < max)
                max = (unsigned)(w->max_packets - w->st.frames);
        }
        int n = w->in->next(w->in_ctx, fr, max, e);
        if (n < 0) {
            rc = -1;
            break;
        }
        if (n == 0)
            break;
        /* Parse the whole batch, then hand the packets with a key to the cache
         * together so it can prefetch flow rows across them. */
        size_t m = 0;
        for (int i = 0; i < n; i++)
            if (account(w, link, &fr[i], &pkt[m]))
                m++;
        fp_cache_put_batch(w->cache, pkt, m);

        /* Check the clock only every 64k packets: it is not free. */
        if (w->progress && w->st.frames >= next_check) {
            double t = now_mono();
            next_check = w->st.frames + (1 << 16);
            if (t - last >= 0.25) {
                draw_progress(w, t0, false);
                last = t;
            }
        }
    }
    if (w->progress)
        draw_progress(w, t0, true);
    fp_cache_flush(w->cache);
    return rc;
}
