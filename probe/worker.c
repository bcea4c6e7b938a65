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

void fp_worker_packet(fp_worker_t *w, int link, const fp_frame_t *fr)
{
    fk_packet_t pkt;

    w->st.frames++;
    w->st.frame_bytes += fr->wirelen;
    fk_packet_parse(&pkt, link, fr->data, fr->caplen, fr->wirelen, fr->ts_ns);
    if (pkt.err)
        w->st.reason[pkt.err_layer][pkt.err]++;
    if (!fk_packet_has_key(&pkt)) {
        w->st.not_parsed++;
        return;
    }
    w->st.parsed++;
    w->st.parsed_bytes += pkt.ip_len;
    fp_cache_put(w->cache, &pkt);
}

int fp_worker_run(fp_worker_t *w, fk_err_t *e)
{
    int link = w->in->link(w->in_ctx);
    fp_frame_t fr;
    double t0 = now_mono(), last = t0;
    int rc = 0;

    for (;;) {
        if (w->stop && *w->stop)
            break;
        if (w->max_packets && w->st.frames >= w->max_packets)
            break;
        int r = w->in->next(w->in_ctx, &fr, e);
        if (r == FP_IN_EOF)
            break;
        if (r == FP_IN_ERROR) {
            rc = -1;
            break;
        }
        fp_worker_packet(w, link, &fr);
        /* Check the clock only every 64k packets: it is not free. */
        if (w->progress && (w->st.frames & 0xffff) == 0) {
            double t = now_mono();
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
