/*
 * pipeline.c - receivers, workers, decoding and formatting of flowcollector;
 * formatted batches go to the transport the caller opened (transport/).
 */
#include "pipeline.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/sock_diag.h>
#include <time.h>
#include <unistd.h>

#include "../lib/core/buf.h"
#include "../lib/core/hash.h"
#include "../lib/packet/packet.h"
#include "decode/persist.h"
#include "decode/sflow.h"
#include "listen/tcp.h"
#include "metrics.h"

#define DGRAM_MAX    9000 /* GoFlow2's receive buffer size */
#define RECV_BATCH   32
#define MAX_RECORDS  1024 /* records one datagram may produce (v9/IPFIX jumbo) */
#define OUT_FLUSH    (256u << 10)
#define OUT_DELAY_NS 20000000ULL /* formatted output waits at most 20 ms for more when idle */

/* ------------------------------------------------------------ shared state */

typedef struct dgram_slot_st {
    fc_dgram_t dg;
    uint8_t buf[DGRAM_MAX];
} dgram_slot_t;

/* A bounded MPMC queue of datagrams (mutex + condvars: datagram rates are far
 * below where a lock-free queue would matter, and workers block on it). */
typedef struct dqueue_st {
    pthread_mutex_t mu;
    pthread_cond_t nonempty, nonfull;
    dgram_slot_t **slot;  /* ring of pointers to full slots */
    dgram_slot_t **free_; /* stack of empty slots */
    size_t cap, head, len, nfree;
    bool closed;
} dqueue_t;

typedef struct pipe_st pipe_t;

typedef struct listener_st {
    pipe_t *p;
    const fc_listen_t *cfg;
    int midx; /* metrics listener index */
    int *fds;
    pthread_t *rx;
    pthread_t *wk;
    dqueue_t pool;      /* free slots only (its ring is unused) */
    dqueue_t *qs;       /* one queue per worker: an exporter always goes to the same
                         * worker, so its datagrams are decoded in arrival order
                         * (sequence tracking sees no false gaps) */
    bool inline_decode; /* as many workers as receivers: each receiver decodes (rx_main) */
    fc_tcp_t *tcp;      /* ipfix+tcp:// listener (then none of the above) */
    pthread_t tcp_thr;
    bool tcp_started;
} listener_t;

typedef struct wk_arg_st {
    listener_t *l;
    unsigned k;
} wk_arg_t;

struct pipe_st {
    const fc_config_t *cfg;
    volatile sig_atomic_t *stop;
    pthread_mutex_t state_mu; /* decoder state when the caller gives none */
    pthread_mutex_t *smu;     /* the lock of `state`: templates, rates, sequences */
    fc_state_t *state;
    unsigned ndecoders;    /* threads that decode: network workers, + 1 with pcap:// */
    fc_transport_t *tp;    /* the caller's transport */
    bool tp_msgs;          /* it wants one fc_tmsg_t per record */
    pthread_mutex_t st_mu; /* counters */
    fc_pstats_t st;
    /* log muting (-err.cnt per -err.int) */
    pthread_mutex_t log_mu;
    uint64_t log_window_ns;
    unsigned log_count;
    uint64_t log_muted;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A decode error: logged at most err.cnt times per err.int, the rest counted. */
static void log_decode_error(pipe_t *p, const fc_dgram_t *dg, const char *msg)
{
    char addr[INET6_ADDRSTRLEN] = "?";
    uint64_t t = mono_ns();

    pthread_mutex_lock(&p->log_mu);
    if (t - p->log_window_ns >= p->cfg->err_int_ns) {
        if (p->log_muted)
            fk_warn("%llu more decode errors were muted (-err.cnt %u per -err.int)",
                    (unsigned long long)p->log_muted, p->cfg->err_cnt);
        p->log_window_ns = t;
        p->log_count = 0;
        p->log_muted = 0;
    }
    if (p->log_count < p->cfg->err_cnt) {
        p->log_count++;
        pthread_mutex_unlock(&p->log_mu);
        inet_ntop(dg->src.len == 4 ? AF_INET : AF_INET6, dg->src.a, addr, sizeof(addr));
        fk_warn("from %s:%u: %s", addr, dg->src_port, msg);
        return;
    }
    p->log_muted++;
    pthread_mutex_unlock(&p->log_mu);
}

/* ------------------------------------------------------------ output */

typedef struct worker_ctx_st {
    pipe_t *p;
    fc_flow_t *recs; /* records of the datagram being decoded */
    size_t nrecs;
    uint64_t overflow; /* records of this datagram already formatted mid-decode */
    bool direct;       /* format each record as the decoder emits it (no copy, see collect) */
    fk_buf_t buf;      /* formatted output waiting for the transport */
    size_t nbuf;       /* records in buf */
    fc_tmsg_t *msgs;   /* their boundaries and keys (message transports only) */
    size_t msgcap;
    int midx;          /* metrics listener index of what this worker decodes */
    const char *mtype; /* its listener type (metric labels) */
} worker_ctx_t;

/* Hand the batch to the transport (records and, for message transports, their
 * boundaries), then start a new one. */
static int out_write(worker_ctx_t *w)
{
    int rc = 0;
    if (w->buf.len)
        rc = fc_transport_send(w->p->tp, (const uint8_t *)w->buf.data, w->buf.len,
                               w->p->tp_msgs ? w->msgs : NULL, w->nbuf);
    w->buf.len = 0;
    w->nbuf = 0;
    return rc;
}

/* Record the record that starts at `start` in buf: one message for message
 * transports (no separator; with its key when key fields are configured).
 * False when it could not be described (it is left out). */
static bool mark_message(worker_ctx_t *w, size_t start, const fc_flow_t *f)
{
    if (w->nbuf == w->msgcap) {
        size_t nc = w->msgcap ? w->msgcap * 2 : 1024;
        fc_tmsg_t *nm = realloc(w->msgs, nc * sizeof(*nm));
        if (!nm) {
            w->buf.len = start; /* cannot describe it: leave it out, say so */
            fk_err("out of memory: a record was dropped before the transport");
            return false;
        }
        w->msgs = nm;
        w->msgcap = nc;
    }
    fc_tmsg_t *m = &w->msgs[w->nbuf];
    m->off = (uint32_t)start;
    m->len = (uint32_t)(w->buf.len - start);
    m->keylen = 0;
    if (f && w->p->cfg->key && w->p->cfg->key->n) {
        uint32_t h = fc_key_hash(w->p->cfg->key, f);
        m->key[0] = (uint8_t)(h >> 24);
        m->key[1] = (uint8_t)(h >> 16);
        m->key[2] = (uint8_t)(h >> 8);
        m->key[3] = (uint8_t)h;
        m->keylen = 4;
    }
    return true;
}

/* The record's place in the buffer, described for a message transport
 * (mark_message), and counted.  Inline: a call per record for a count. */
static inline void mark_record(worker_ctx_t *w, size_t start, const fc_flow_t *f)
{
    if (w->p->tp_msgs && !mark_message(w, start, f))
        return;
    w->nbuf++;
}

/* ------------------------------------------------------------ decoding */

static void format_one(worker_ctx_t *w, const fc_flow_t *f);

/*
 * The list arrays of fc_flow_t (from the column table), by offset: a record is
 * copied whole except the unused tail of each list, which no formatter reads
 * (they stop at the count).  Most records have empty lists, so the copy is the
 * ~300 bytes of scalars instead of the ~1.3 KB of the struct.
 */
typedef struct list_span_st {
    uint16_t off, cnt_off, esize, cap;
} list_span_t;

static list_span_t list_spans[FC_NCOLUMNS];
static unsigned n_list_spans;
static pthread_once_t list_spans_once = PTHREAD_ONCE_INIT;

static void list_spans_init(void)
{
    for (unsigned i = 0; i < FC_NCOLUMNS; i++) {
        const fc_column_t *c = &fc_columns[i];
        if (c->kind != FC_K_A_U32 && c->kind != FC_K_A_ENUM && c->kind != FC_K_A_ADDR)
            continue;
        list_span_t s = {c->off, c->cnt_off,
                         (uint16_t)(c->kind == FC_K_A_ADDR ? sizeof(fc_addr_t) : sizeof(uint32_t)),
                         c->cap};
        unsigned j = n_list_spans++;
        while (j > 0 && list_spans[j - 1].off > s.off) { /* insertion sort by offset */
            list_spans[j] = list_spans[j - 1];
            j--;
        }
        list_spans[j] = s;
    }
}

static void flow_copy(fc_flow_t *d, const fc_flow_t *s)
{
    const char *src = (const char *)s;
    char *dst = (char *)d;
    size_t at = 0;
    for (unsigned i = 0; i < n_list_spans; i++) {
        const list_span_t *l = &list_spans[i];
        uint16_t n;
        memcpy(&n, src + l->cnt_off, sizeof(n));
        n = n < l->cap ? n : l->cap;
        memcpy(dst + at, src + at, l->off - at);
        memcpy(dst + l->off, src + l->off, (size_t)n * l->esize);
        at = l->off + (size_t)l->cap * l->esize;
    }
    memcpy(dst + at, src + at, sizeof(*s) - at);
}

static int collect(void *arg, fc_flow_t *flow)
{
    worker_ctx_t *w = arg;
    if (w->direct) {
        /* The only decoding thread: formatting under the decoder lock delays
         * nobody, so the record is formatted where the decoder built it. */
        format_one(w, flow);
        w->overflow++;
        return 0;
    }
    if (w->nrecs == MAX_RECORDS) {
        /* A datagram with more records than the batch holds (jumbo IPFIX of
         * tiny records): format the batch now, inside the decode, rather than
         * stop decoding and lose records (or count a false sequence gap). */
        for (size_t i = 0; i < w->nrecs; i++)
            format_one(w, &w->recs[i]);
        w->overflow += w->nrecs;
        w->nrecs = 0;
    }
    flow_copy(&w->recs[w->nrecs++], flow);
    return 0;
}

static void format_one(worker_ctx_t *w, const fc_flow_t *f)
{
    const fc_config_t *cfg = w->p->cfg;
    size_t start = w->buf.len;
    switch (cfg->format) {
    case FC_FMT_BIN:
        fc_format_bin(&w->buf, f, cfg->fmt);
        break;
    case FC_FMT_TEXT:
        fc_format_text(&w->buf, f, cfg->fmt);
        break;
    default:
        fc_format_json(&w->buf, f, cfg->fmt);
    }
    mark_record(w, start, f);
    /* The separator (a newline by default): one byte stored in place while
     * the buffer has room, instead of a call for it. */
    if (cfg->seplen == 1 && w->buf.len < w->buf.cap)
        w->buf.data[w->buf.len++] = cfg->sep[0];
    else if (cfg->seplen)
        fk_buf_put(&w->buf, cfg->sep, cfg->seplen);
}

static void sflow_to_dstats(fc_dstats_t *d, const fc_sflow_stats_t *s)
{
    d->datagrams += s->datagrams;
    d->records += s->flows;
    d->truncated += s->truncated;
    d->invalid += s->invalid;
    d->bad_version += s->unsupported;
}

/* Decode one datagram of protocol `proto` and write its records. */
static void handle(worker_ctx_t *w, fc_proto_t proto, const fc_dgram_t *dg)
{
    pipe_t *p = w->p;
    fk_err_t e = {{0}};
    int rc = 0, kind = (int)proto;

    if (proto == FC_PROTO_FLOW || proto == FC_PROTO_NETFLOW || proto == FC_PROTO_NFL) {
        int d = fc_detect(dg->data, dg->len);
        if (proto == FC_PROTO_FLOW)
            kind = d;
        if (kind < 0 || (proto != FC_PROTO_FLOW && d == FC_PROTO_SFLOW)) {
            pthread_mutex_lock(&p->st_mu);
            p->st.unknown++;
            pthread_mutex_unlock(&p->st_mu);
            fc_mdgram_t md = {.lidx = w->midx,
                              .src = &dg->src,
                              .bytes = dg->len,
                              .name = w->mtype,
                              .kind = FC_MD_NONE,
                              .error = true};
            fc_metrics_datagram(p->cfg->metrics, &md);
            log_decode_error(p, dg,
                             "could not identify protocol (not sFlow v5, NetFlow v5/v9, IPFIX)");
            return;
        }
    }

    if (p->cfg->produce == FC_PRODUCE_RAW) {
        size_t start = w->buf.len;
        if (kind == FC_PROTO_SFLOW)
            rc = fc_sflow_raw_json(dg, &w->buf, &e);
        else
            rc = fc_nf_raw_json(dg, &w->buf, &e);
        if (rc >= 0)
            mark_record(w, start, NULL);
        if (rc >= 0 && p->cfg->seplen)
            fk_buf_put(&w->buf, p->cfg->sep, p->cfg->seplen);
        if (rc < 0)
            log_decode_error(p, dg, e.msg);
        return;
    }

    w->nrecs = 0;
    uint64_t t0 = p->cfg->metrics ? mono_ns() : 0;
    fc_mdgram_t md = {.lidx = w->midx, .src = &dg->src, .bytes = dg->len, .name = w->mtype};
    fc_sflow_stats_t ss;
    fc_sflow_hdr_t sh;
    fc_dstats_t ds;
    if (kind == FC_PROTO_SFLOW) {
        fc_sflow_opts_t so = {p->cfg->sflow_decap, false};
        memset(&ss, 0, sizeof(ss));
        rc = fc_sflow_decode_ex(dg, &so, collect, w, &ss, &sh, &e);
        md.kind = FC_MD_SFLOW;
        md.ss = &ss;
        md.agent = &sh.agent;
        if (!sh.valid)
            sh.agent.len = 0;
        pthread_mutex_lock(&p->st_mu);
        sflow_to_dstats(&p->st.sf, &ss);
        p->st.sflow_counter_samples += ss.counter_samples;
        if (sh.valid) {
            /* Sequence numbers count datagrams per (agent, sub-agent). */
            fc_xkey_t k = {sh.agent, 0, 5, sh.sub_agent_id};
            pthread_mutex_lock(p->smu);
            fc_state_sequence(p->state, &k, sh.sequence_num, 1, &p->st.sf);
            pthread_mutex_unlock(p->smu);
        }
        pthread_mutex_unlock(&p->st_mu);
    } else {
        uint16_t ver = dg->len >= 2 ? (uint16_t)(dg->data[0] << 8 | dg->data[1]) : 0;
        memset(&ds, 0, sizeof(ds));
        pthread_mutex_lock(p->smu);
        if (ver == 5)
            rc = fc_nfv5_decode(dg, collect, w, p->state, &ds, &e);
        else if (proto == FC_PROTO_NFL)
            rc = fk_errf(&e, "nfl:// takes NetFlow v5 only, got version %u", ver), ds.bad_version++;
        else if (ver == 9)
            rc = fc_nfv9_decode(dg, collect, w, p->state, &ds, &e);
        else
            rc = fc_ipfix_decode(dg, collect, w, p->state, &ds, &e);
        pthread_mutex_unlock(p->smu);
        pthread_mutex_lock(&p->st_mu);
        fc_dstats_t *t = &p->st.nf;
        t->datagrams += ds.datagrams;
        t->records += ds.records;
        t->templates += ds.templates;
        t->withdrawals += ds.withdrawals;
        t->option_records += ds.option_records;
        t->truncated += ds.truncated;
        t->invalid += ds.invalid;
        t->bad_version += ds.bad_version;
        t->no_template += ds.no_template;
        t->seq_lost += ds.seq_lost;
        t->seq_reset += ds.seq_reset;
        pthread_mutex_unlock(&p->st_mu);
        if (ver == 5 || ver == 9 || ver == 10) {
            md.kind = FC_MD_NETFLOW;
            md.version = (uint8_t)ver;
            md.ds = &ds;
            md.v5_count = ver == 5 && dg->len >= 4 ? (uint32_t)(dg->data[2] << 8 | dg->data[3]) : 0;
        }
    }
    if (p->cfg->metrics) {
        md.decode_ns = mono_ns() - t0;
        md.error = rc < 0;
        /* GoFlow2's nf_delay: time received - flow end, over the NetFlow records */
        for (size_t i = 0; md.kind == FC_MD_NETFLOW && i < w->nrecs; i++) {
            const fc_flow_t *f = &w->recs[i];
            md.delay_sum += ((double)f->time_received_ns - (double)f->time_flow_end_ns) / 1e9;
            md.delay_n++;
        }
        fc_metrics_datagram(p->cfg->metrics, &md);
    }
    if (rc < 0)
        log_decode_error(p, dg, e.msg);
    for (size_t i = 0; i < w->nrecs; i++)
        format_one(w, &w->recs[i]);
    pthread_mutex_lock(&p->st_mu);
    p->st.records += w->nrecs + w->overflow;
    pthread_mutex_unlock(&p->st_mu);
    w->overflow = 0;
    if (w->buf.len >= OUT_FLUSH)
        out_write(w);
}

static int worker_init(worker_ctx_t *w, pipe_t *p, int midx, const char *mtype)
{
    pthread_once(&list_spans_once, list_spans_init);
    memset(w, 0, sizeof(*w));
    w->p = p;
    w->direct = p->ndecoders <= 1;
    w->midx = midx;
    w->mtype = mtype;
    w->recs = malloc(MAX_RECORDS * sizeof(*w->recs));
    if (!w->recs || fk_buf_init(&w->buf, NULL, OUT_FLUSH + 65536) < 0) {
        free(w->recs);
        return -1;
    }
    return 0;
}

static void worker_fini(worker_ctx_t *w)
{
    out_write(w);
    fk_buf_free(&w->buf);
    free(w->msgs);
    free(w->recs);
}

/* ------------------------------------------------------------ queue */

static int dq_init(dqueue_t *q, size_t cap)
{
    memset(q, 0, sizeof(*q));
    q->cap = cap ? cap : 1;
    /* Slots are allocated lazily up to cap, so a 1,000,000-entry default
     * costs memory only when a backlog really builds up. */
    q->slot = calloc(q->cap, sizeof(*q->slot));
    q->free_ = calloc(q->cap, sizeof(*q->free_));
    if (!q->slot || !q->free_)
        return -1;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->nonempty, NULL);
    pthread_cond_init(&q->nonfull, NULL);
    return 0;
}

static void dq_fini(dqueue_t *q)
{
    for (size_t i = 0; i < q->len; i++)
        free(q->slot[(q->head + i) % q->cap]);
    for (size_t i = 0; i < q->nfree; i++)
        free(q->free_[i]);
    free(q->slot);
    free(q->free_);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->nonempty);
    pthread_cond_destroy(&q->nonfull);
}

/* An empty slot to receive into (reused or new), or NULL without memory. */
static dgram_slot_t *dq_take_free(dqueue_t *q)
{
    dgram_slot_t *s = NULL;
    pthread_mutex_lock(&q->mu);
    if (q->nfree)
        s = q->free_[--q->nfree];
    pthread_mutex_unlock(&q->mu);
    return s ? s : malloc(sizeof(*s));
}

static void dq_give_free(dqueue_t *q, dgram_slot_t *s)
{
    pthread_mutex_lock(&q->mu);
    if (q->nfree < q->cap && q->nfree < 4096) {
        q->free_[q->nfree++] = s;
        s = NULL;
    }
    pthread_mutex_unlock(&q->mu);
    free(s);
}

/*
 * Enqueue a batch under one lock and one wake-up (a signal per datagram costs
 * more than decoding it).  Returns how many were taken, in order; the rest did
 * not fit (non-blocking) and stay with the caller.
 */
static size_t dq_push_many(dqueue_t *q, dgram_slot_t **v, size_t n, bool blocking,
                           volatile sig_atomic_t *stop)
{
    size_t done = 0;
    pthread_mutex_lock(&q->mu);
    while (done < n) {
        while (q->len == q->cap) {
            if (!blocking || *stop)
                goto out;
            pthread_cond_signal(&q->nonempty);
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 100000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&q->nonfull, &q->mu, &ts);
        }
        q->slot[(q->head + q->len) % q->cap] = v[done++];
        q->len++;
    }
out:
    if (done)
        pthread_cond_signal(&q->nonempty);
    pthread_mutex_unlock(&q->mu);
    return done;
}

/* Dequeue up to `max` slots at once; 0 once the queue is closed and empty. */
/*
 * Take up to max datagrams, waiting for the first one until `deadline`
 * (CLOCK_REALTIME ns; 0: for ever).  Returns 0 when the queue is closed and
 * empty, or when the deadline passed (then *closed says which).
 */
static size_t dq_pop_many(dqueue_t *q, dgram_slot_t **out, size_t max, uint64_t deadline,
                          bool *closed)
{
    size_t n = 0;
    pthread_mutex_lock(&q->mu);
    while (q->len == 0 && !q->closed) {
        if (!deadline) {
            pthread_cond_wait(&q->nonempty, &q->mu);
            continue;
        }
        struct timespec ts = {(time_t)(deadline / 1000000000ULL), (long)(deadline % 1000000000ULL)};
        if (pthread_cond_timedwait(&q->nonempty, &q->mu, &ts) == ETIMEDOUT)
            break;
    }
    *closed = q->closed && q->len == 0;
    while (q->len && n < max) {
        out[n++] = q->slot[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
    }
    if (n)
        pthread_cond_signal(&q->nonfull);
    pthread_mutex_unlock(&q->mu);
    return n;
}

static void dq_close(dqueue_t *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_cond_broadcast(&q->nonempty);
    pthread_cond_broadcast(&q->nonfull);
    pthread_mutex_unlock(&q->mu);
}

/* ------------------------------------------------------------ threads */

typedef struct rx_arg_st {
    listener_t *l;
    int fd;
} rx_arg_t;

/*
 * A receiver: reads datagrams with recvmmsg, RECV_BATCH at a time.  With as
 * many workers as receivers (l->inline_decode), each receiver is its own
 * worker and decodes what it read where it read it: no copy to a queue, no
 * second thread to wake per batch (on one core that hand-off cost as much
 * as decoding); the socket's receive buffer is then the only queue and its
 * drops are counted (SO_RXQ_OVFL).  Otherwise the batch goes to the workers'
 * queues, an exporter always to the same worker.
 */
static void *rx_main(void *arg)
{
    rx_arg_t *ra = arg;
    listener_t *l = ra->l;
    pipe_t *p = l->p;
    int fd = ra->fd;
    dgram_slot_t *slots[RECV_BATCH] = {0};
    struct mmsghdr msgs[RECV_BATCH];
    struct iovec iov[RECV_BATCH];
    struct sockaddr_storage from[RECV_BATCH];
    union {
        char buf[CMSG_SPACE(sizeof(uint32_t))];
        struct cmsghdr align;
    } ctl[RECV_BATCH];
    uint32_t last_ovfl = 0;
    worker_ctx_t w;
    bool inl = l->inline_decode;
    uint64_t pending_since = 0; /* inline: when the oldest output not yet written was made */

    free(ra);
    if (inl && worker_init(&w, p, l->midx, fc_listen_type(l->cfg)) < 0)
        return NULL;
    while (!*p->stop) {
        for (int i = 0; i < RECV_BATCH; i++) {
            if (!slots[i])
                slots[i] = dq_take_free(&l->pool);
            if (!slots[i])
                goto out;
            iov[i].iov_base = slots[i]->buf;
            iov[i].iov_len = DGRAM_MAX;
            memset(&msgs[i], 0, sizeof(msgs[i]));
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &from[i];
            msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
            msgs[i].msg_hdr.msg_control = ctl[i].buf;
            msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
        }
        int wait_ms = 200;
        if (inl && w.buf.len) {
            /* Output waits at most OUT_DELAY_NS for more (as wk_main). */
            uint64_t age = now_ns() - pending_since;
            if (age >= OUT_DELAY_NS) {
                out_write(&w);
            } else {
                wait_ms = (int)((OUT_DELAY_NS - age) / 1000000ULL) + 1;
            }
        }
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, wait_ms) <= 0)
            continue;
        int n = recvmmsg(fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            continue;
        uint64_t t = now_ns();
        uint64_t received = 0, dropped = 0;
        dgram_slot_t *bq[RECV_BATCH];
        int bslot[RECV_BATCH];
        size_t nb[RECV_BATCH > 64 ? RECV_BATCH : 64];
        unsigned nq = l->cfg->workers;
        int target[RECV_BATCH];
        memset(nb, 0, sizeof(nb));
        for (int i = 0; i < n; i++) {
            target[i] = -1;
            if (msgs[i].msg_len == 0)
                continue; /* zero-length reads are skipped, as GoFlow2 */
            /* Kernel drop counter of the socket (SO_RXQ_OVFL), cumulative. */
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c;
                 c = CMSG_NXTHDR(&msgs[i].msg_hdr, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
                    uint32_t ovfl;
                    memcpy(&ovfl, CMSG_DATA(c), sizeof(ovfl));
                    if (ovfl != last_ovfl) {
                        pthread_mutex_lock(&p->st_mu);
                        p->st.kernel_drops += (uint32_t)(ovfl - last_ovfl);
                        pthread_mutex_unlock(&p->st_mu);
                        last_ovfl = ovfl;
                    }
                }
            dgram_slot_t *s = slots[i];
            s->dg.data = s->buf;
            s->dg.len = msgs[i].msg_len;
            s->dg.received_ns = t;
            fc_listen_peer(&from[i], &s->dg.src, &s->dg.src_port);
            received++;
            if (inl)
                continue;
            /* Exporter affinity: the same source always hits the same worker. */
            uint64_t h = fk_hash64(s->dg.src.a, s->dg.src.len, s->dg.src_port);
            target[i] = (int)(h % nq);
        }
        pthread_mutex_lock(&p->st_mu);
        p->st.received += received;
        pthread_mutex_unlock(&p->st_mu);
        if (inl) {
            if (w.buf.len == 0)
                pending_since = t;
            for (int i = 0; i < n; i++)
                if (msgs[i].msg_len)
                    handle(&w, l->cfg->proto, &slots[i]->dg);
            /* Drained (a short batch): deliver, at most every OUT_DELAY_NS. */
            if (w.buf.len && n < RECV_BATCH && now_ns() - pending_since >= OUT_DELAY_NS)
                out_write(&w);
            continue;
        }
        /* One locked hand-off per worker queue for the whole batch. */
        for (unsigned k = 0; k < nq; k++) {
            size_t m = 0;
            for (int i = 0; i < n; i++)
                if (target[i] == (int)k) {
                    bq[m] = slots[i];
                    bslot[m++] = i;
                }
            if (!m)
                continue;
            size_t taken = dq_push_many(&l->qs[k], bq, m, l->cfg->blocking, p->stop);
            for (size_t j = 0; j < taken; j++)
                slots[bslot[j]] = NULL;
            dropped += m - taken;
            for (size_t j = taken; j < m; j++) /* GoFlow2's dropped_* per exporter */
                fc_metrics_dropped(p->cfg->metrics, l->midx, &bq[j]->dg.src, bq[j]->dg.len);
        }
        if (dropped) {
            pthread_mutex_lock(&p->st_mu);
            p->st.dropped += dropped;
            pthread_mutex_unlock(&p->st_mu);
        }
    }
out:
    if (inl)
        worker_fini(&w);
    for (int i = 0; i < RECV_BATCH; i++)
        free(slots[i]);
    return NULL;
}

static void *wk_main(void *arg)
{
    wk_arg_t *wa = arg;
    listener_t *l = wa->l;
    dqueue_t *q = &l->qs[wa->k];
    worker_ctx_t w;

    free(wa);
    if (worker_init(&w, l->p, l->midx, fc_listen_type(l->cfg)) < 0)
        return NULL;
    dgram_slot_t *batch[RECV_BATCH];
    uint64_t pending_since = 0; /* when the oldest output not yet written was made */
    for (;;) {
        bool closed = false;
        size_t n = dq_pop_many(q, batch, RECV_BATCH, w.buf.len ? pending_since + OUT_DELAY_NS : 0,
                               &closed);
        if (n == 0) {
            if (closed)
                break;
            out_write(&w); /* idle for OUT_DELAY_NS: deliver what waits */
            continue;
        }
        if (w.buf.len == 0)
            pending_since = now_ns();
        for (size_t i = 0; i < n; i++) {
            handle(&w, l->cfg->proto, &batch[i]->dg);
            dq_give_free(&l->pool, batch[i]);
        }
        /* Idle: deliver, but at most every OUT_DELAY_NS, so that a trickle of
         * datagrams is written in chunks rather than one write(2) each. */
        if (w.buf.len && q->len == 0 && now_ns() - pending_since >= OUT_DELAY_NS)
            out_write(&w);
    }
    worker_fini(&w);
    return NULL;
}

static int open_socket(const fc_listen_t *lc, fk_err_t *e)
{
    struct addrinfo hints, *res = NULL;
    char port[8];
    int fd = -1, one = 1, err;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE;
    snprintf(port, sizeof(port), "%u", lc->port);
    err = getaddrinfo(lc->host[0] ? lc->host : NULL, port, &hints, &res);
    if (err)
        return fk_errf(e, "-listen %s: %s", lc->uri, gai_strerror(err));
    /* With no host, prefer the IPv6 wildcard (dual stack), as Go does. */
    struct addrinfo *ai = res;
    for (struct addrinfo *a = res; a && !lc->host[0]; a = a->ai_next)
        if (a->ai_family == AF_INET6)
            ai = a;
    fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(res);
        return fk_errf(e, "-listen %s: socket: %s", lc->uri, strerror(errno));
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
    if (ai->ai_family == AF_INET6) {
        int zero = 0;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    }
    /* The receive buffer absorbs bursts while the receiver is busy (it is
     * the only queue when receivers decode inline).  SO_RCVBUFFORCE passes
     * net.core.rmem_max with CAP_NET_ADMIN; otherwise the kernel clamps the
     * request to it, and a small limit is reported once. */
    int rcvbuf = 32 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
        int got = 0;
        socklen_t gl = sizeof(got);
        static int warned;
        if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl) == 0 && got < (4 << 20) &&
            !__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
            fk_info("-listen %s: UDP receive buffer %d bytes (net.core.rmem_max); bursts "
                    "beyond it are dropped (and counted): raise it with "
                    "sysctl -w net.core.rmem_max=33554432",
                    lc->uri, got);
    }
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        int b = errno;
        close(fd);
        freeaddrinfo(res);
        return fk_errf(e, "-listen %s: cannot bind: %s", lc->uri, strerror(b));
    }
    freeaddrinfo(res);
    return fd;
}

/* ------------------------------------------------------------ IPFIX over TCP */

/* One thread per TCP listener (listen/tcp.c frames the streams); each IPFIX
 * message is decoded here like a datagram, in the order the connection
 * delivers it. */
static void tcp_open_cb(void *arg, const fc_addr_t *a, uint16_t port)
{
    worker_ctx_t *w = arg;
    char ip[INET6_ADDRSTRLEN] = "?";
    inet_ntop(a->len == 4 ? AF_INET : AF_INET6, a->a, ip, sizeof(ip));
    fk_debug("ipfix+tcp: connection from %s:%u", ip, port);
    pthread_mutex_lock(&w->p->st_mu);
    w->p->st.tcp_sessions++;
    pthread_mutex_unlock(&w->p->st_mu);
}

static void tcp_message_cb(void *arg, const fc_dgram_t *dg)
{
    worker_ctx_t *w = arg;
    pthread_mutex_lock(&w->p->st_mu);
    w->p->st.received++;
    pthread_mutex_unlock(&w->p->st_mu);
    handle(w, FC_PROTO_NETFLOW, dg);
}

static void tcp_close_cb(void *arg, const fc_addr_t *a, uint16_t port, const char *why, size_t lost)
{
    worker_ctx_t *w = arg;
    char ip[INET6_ADDRSTRLEN] = "?";
    inet_ntop(a->len == 4 ? AF_INET : AF_INET6, a->a, ip, sizeof(ip));
    (void)lost;
    if (why) {
        fk_warn("ipfix+tcp: from %s:%u: %s; connection closed", ip, port, why);
        pthread_mutex_lock(&w->p->st_mu);
        w->p->st.tcp_errors++;
        pthread_mutex_unlock(&w->p->st_mu);
    }
    /* The session's templates end with it (RFC 7011 8). */
    pthread_mutex_lock(w->p->smu);
    size_t n = fc_state_drop_session(w->p->state, a, port);
    pthread_mutex_unlock(w->p->smu);
    fk_debug("ipfix+tcp: %s:%u closed, %zu templates dropped", ip, port, n);
}

static void tcp_idle_cb(void *arg)
{
    out_write(arg); /* deliver what the last reads produced */
}

static void *tcp_main(void *arg)
{
    listener_t *l = arg;
    worker_ctx_t w;
    if (worker_init(&w, l->p, l->midx, fc_listen_type(l->cfg)) < 0)
        return NULL;
    fc_tcp_cb_t cb = {&w, tcp_open_cb, tcp_message_cb, tcp_close_cb, tcp_idle_cb};
    fc_tcp_run(l->tcp, l->p->stop, &cb);
    worker_fini(&w);
    return NULL;
}

/* ------------------------------------------------------------ pcap replay */

static int replay_pcap(pipe_t *p, const fc_listen_t *lc, fk_err_t *e)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *pc =
        pcap_open_offline_with_tstamp_precision(lc->pcap, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    struct pcap_pkthdr *h;
    const u_char *data;
    worker_ctx_t w;
    int link, r;

    if (!pc)
        return fk_errf(e, "-listen %s: %s", lc->uri, errbuf);
    int midx = p->cfg->metrics ? fc_metrics_listener(p->cfg->metrics, "pcap", "", 0) : -1;
    if (worker_init(&w, p, midx, "pcap") < 0) {
        pcap_close(pc);
        return fk_errf(e, "out of memory");
    }
    link = pcap_datalink(pc);
    while (!*p->stop && (r = pcap_next_ex(pc, &h, &data)) >= 0) {
        fk_packet_t pkt;
        if (r == 0)
            continue;
        fk_packet_parse(&pkt, link, data, h->caplen, h->len,
                        (uint64_t)h->ts.tv_sec * 1000000000ULL + (uint64_t)h->ts.tv_usec);
        /* Only whole UDP datagrams are flow exports; fragments would need reassembly. */
        if (pkt.ip_proto != 17 || pkt.layer_ok < FK_LAYER_L4 || pkt.is_fragment)
            continue;
        fc_dgram_t dg;
        memset(&dg, 0, sizeof(dg));
        dg.data = pkt.payload;
        dg.len = pkt.payload_len;
        dg.received_ns = pkt.ts_ns;
        dg.src_port = pkt.src_port;
        if (pkt.ip_version == 4) {
            dg.src.len = 4;
            memcpy(dg.src.a, pkt.src_ip + 12, 4);
        } else {
            dg.src.len = 16;
            memcpy(dg.src.a, pkt.src_ip, 16);
        }
        pthread_mutex_lock(&p->st_mu);
        p->st.received++;
        pthread_mutex_unlock(&p->st_mu);
        handle(&w, lc->proto, &dg);
    }
    worker_fini(&w);
    pcap_close(pc);
    return 0;
}

/* ------------------------------------------------------------ run */

/* A listener's labels for GoFlow2's receiver metrics: its type and the
 * address and port its socket is bound to (unmapped, as GoFlow2 prints them). */
static int register_listener(pipe_t *p, const fc_listen_t *lc, int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char ip[INET6_ADDRSTRLEN] = "";
    fc_addr_t a;
    uint16_t port = lc->port;

    if (!p->cfg->metrics)
        return -1;
    if (fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        fc_listen_peer(&ss, &a, &port);
        if (a.len)
            inet_ntop(a.len == 4 ? AF_INET : AF_INET6, a.a, ip, sizeof(ip));
    }
    return fc_metrics_listener(p->cfg->metrics, fc_listen_type(lc), ip, port);
}

/* Copy the counters to the metrics object (about every 100 ms). */
static void publish_stats(pipe_t *p)
{
    fc_pstats_t st;
    if (!p->cfg->metrics)
        return;
    pthread_mutex_lock(&p->st_mu);
    st = p->st;
    pthread_mutex_unlock(&p->st_mu);
    fc_metrics_set_pstats(p->cfg->metrics, &st);
}

/* -templates.json.path: a change arms a timer of -templates.json.interval;
 * when it fires the whole snapshot is written (goflow2-spec.md 5). */
typedef struct persist_st {
    uint64_t gen; /* state generation last written */
    uint64_t due; /* monotonic ns the armed write is due, 0 = not armed */
} persist_t;

static void persist_tick(pipe_t *p, persist_t *ps, bool final)
{
    const fc_config_t *cfg = p->cfg;
    fk_buf_t b;
    fk_err_t e;
    uint64_t gen;

    if (!cfg->persist_path || !cfg->persist_path[0])
        return;
    pthread_mutex_lock(p->smu);
    gen = fc_state_generation(p->state);
    pthread_mutex_unlock(p->smu);
    if (gen == ps->gen)
        return;
    if (!ps->due && !final) {
        ps->due = mono_ns() + cfg->persist_ns;
        if (cfg->persist_ns)
            return;
    }
    if (!final && mono_ns() < ps->due)
        return;
    if (fk_buf_init(&b, NULL, 65536) < 0)
        return;
    pthread_mutex_lock(p->smu);
    gen = fc_state_generation(p->state);
    long n = fc_persist_json(p->state, &b);
    pthread_mutex_unlock(p->smu);
    int rc = n < 0 ? fk_errf(&e, "-templates.json.path %s: out of memory", cfg->persist_path)
                   : fc_persist_write(cfg->persist_path, b.data, b.len, &e);
    fk_buf_free(&b);
    pthread_mutex_lock(&p->st_mu);
    if (rc < 0)
        p->st.persist_errors++;
    else
        p->st.persist_writes++;
    pthread_mutex_unlock(&p->st_mu);
    if (rc < 0) {
        fk_err("%s", e.msg);
        /* retry after the interval (or a second): the disk may come back */
        ps->due = mono_ns() + (cfg->persist_ns ? cfg->persist_ns : 1000000000ULL);
        return;
    }
    fk_debug("templates: %ld written to %s", n, cfg->persist_path);
    ps->gen = gen;
    ps->due = 0;
}

int fc_pipeline_run(const fc_config_t *cfg, volatile sig_atomic_t *stop,
                    volatile sig_atomic_t *reopen, fc_pstats_t *st, fk_err_t *e)
{
    pipe_t p;
    listener_t *ls = NULL;
    size_t nnet = 0;
    int rc = 0;
    persist_t ps = {0, 0};

    memset(&p, 0, sizeof(p));
    p.cfg = cfg;
    p.stop = stop;
    pthread_mutex_init(&p.state_mu, NULL);
    pthread_mutex_init(&p.st_mu, NULL);
    pthread_mutex_init(&p.log_mu, NULL);
    if (!cfg->transport)
        return fk_errf(e, "no transport");
    p.tp = cfg->transport;
    p.tp_msgs = fc_transport_wants_messages(p.tp);
    /* The caller's state (shared with /templates and persistence), or our own. */
    p.state = cfg->state;
    p.smu = cfg->state ? cfg->state_mu : &p.state_mu;
    if (!p.state && !(p.state = fc_state_new(cfg->ttl_ns)))
        return fk_errf(e, "out of memory");
    for (size_t i = 0; i < cfg->noverrides; i++)
        fc_state_set_override(p.state, &cfg->overrides[i].addr, cfg->overrides[i].rate);
    ps.gen = fc_state_generation(p.state); /* templates loaded at start are on disk already */

    for (size_t i = 0; i < cfg->nlisten; i++) {
        if (!cfg->listen[i].pcap) {
            nnet++;
            p.ndecoders += cfg->listen[i].workers;
        }
    }
    for (size_t i = 0; i < cfg->nlisten; i++)
        if (cfg->listen[i].pcap) {
            p.ndecoders++; /* read inline by this thread, one listener after another */
            break;
        }
    ls = calloc(nnet ? nnet : 1, sizeof(*ls));
    if (!ls) {
        rc = fk_errf(e, "out of memory");
        goto done;
    }
    /* Bind everything first: a bad address fails before anything runs. */
    size_t k = 0;
    for (size_t i = 0; i < cfg->nlisten; i++) {
        const fc_listen_t *lc = &cfg->listen[i];
        if (lc->pcap)
            continue;
        listener_t *l = &ls[k++];
        l->p = &p;
        l->cfg = lc;
        if (lc->tcp) {
            if (!(l->tcp = fc_tcp_open(lc, e))) {
                rc = -1;
                goto done;
            }
            l->midx = register_listener(&p, lc, fc_tcp_fd(l->tcp));
            continue;
        }
        l->inline_decode = lc->workers == lc->count && !lc->queue_set;
        l->fds = calloc(lc->count, sizeof(int));
        l->rx = calloc(lc->count, sizeof(pthread_t));
        l->wk = calloc(lc->workers, sizeof(pthread_t));
        l->qs = calloc(lc->workers, sizeof(*l->qs));
        if (!l->fds || !l->rx || !l->wk || !l->qs || dq_init(&l->pool, lc->queue_size) < 0) {
            rc = fk_errf(e, "out of memory");
            goto done;
        }
        for (unsigned j = 0; j < lc->workers; j++) {
            /* queue_size is the listener's total; 0 (blocking) stays a hand-off */
            size_t per = lc->queue_size / lc->workers;
            if (dq_init(&l->qs[j], per ? per : 1) < 0) {
                rc = fk_errf(e, "out of memory");
                goto done;
            }
        }
        for (unsigned j = 0; j < lc->count; j++)
            l->fds[j] = -1;
        for (unsigned j = 0; j < lc->count; j++) {
            l->fds[j] = open_socket(lc, e);
            if (l->fds[j] < 0) {
                rc = -1;
                goto done;
            }
        }
        l->midx = register_listener(&p, lc, l->fds[0]);
    }
    for (size_t i = 0; i < nnet; i++) {
        listener_t *l = &ls[i];
        if (l->tcp) {
            l->tcp_started = pthread_create(&l->tcp_thr, NULL, tcp_main, l) == 0;
            continue;
        }
        for (unsigned j = 0; !l->inline_decode && j < l->cfg->workers; j++) {
            wk_arg_t *wa = malloc(sizeof(*wa));
            wa->l = l;
            wa->k = j;
            pthread_create(&l->wk[j], NULL, wk_main, wa);
        }
        for (unsigned j = 0; j < l->cfg->count; j++) {
            rx_arg_t *ra = malloc(sizeof(*ra));
            ra->l = l;
            ra->fd = l->fds[j];
            pthread_create(&l->rx[j], NULL, rx_main, ra);
        }
    }

    fc_metrics_set_ready(cfg->metrics, true);

    /* pcap:// inputs are read here, at full speed. */
    for (size_t i = 0; i < cfg->nlisten; i++)
        if (cfg->listen[i].pcap && replay_pcap(&p, &cfg->listen[i], e) < 0) {
            rc = -1;
            break;
        }

    /* With network listeners, run until stopped; sweep templates, persist
     * them, publish counters and let the transport report, meanwhile. */
    uint64_t next_sweep = mono_ns() + cfg->sweep_ns;
    while (nnet && !*stop && rc == 0) {
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
        if (*reopen) {
            *reopen = 0;
            fc_transport_reopen(p.tp);
        }
        if (mono_ns() >= next_sweep) {
            pthread_mutex_lock(p.smu);
            fc_state_expire(p.state, now_ns());
            pthread_mutex_unlock(p.smu);
            next_sweep = mono_ns() + cfg->sweep_ns;
        }
        persist_tick(&p, &ps, false);
        fc_transport_tick(p.tp, mono_ns());
        publish_stats(&p);
    }

done:
    /* Stop receivers, let workers drain the queues, then flush the output. */
    *stop = 1;
    for (size_t i = 0; i < nnet; i++) {
        listener_t *l = &ls[i];
        if (l->tcp_started)
            pthread_join(l->tcp_thr, NULL);
        fc_tcp_free(l->tcp);
        if (!l->rx)
            continue;
        for (unsigned j = 0; j < l->cfg->count; j++)
            if (l->rx[j])
                pthread_join(l->rx[j], NULL);
        for (unsigned j = 0; l->qs && j < l->cfg->workers; j++)
            dq_close(&l->qs[j]);
        for (unsigned j = 0; j < l->cfg->workers; j++)
            if (l->wk && l->wk[j])
                pthread_join(l->wk[j], NULL);
        for (unsigned j = 0; j < l->cfg->count; j++) {
            if (l->fds[j] < 0)
                continue;
            /* The socket's own drop counter is exact at the end (SO_RXQ_OVFL
             * only reports with the next datagram, so a final burst's drops
             * would be missed). */
            uint32_t mem[SK_MEMINFO_VARS];
            socklen_t ml = sizeof(mem);
            if (getsockopt(l->fds[j], SOL_SOCKET, SO_MEMINFO, mem, &ml) == 0 &&
                ml >= sizeof(uint32_t) * (SK_MEMINFO_DROPS + 1))
                p.st.kernel_drops_final += mem[SK_MEMINFO_DROPS];
            close(l->fds[j]);
        }
        for (unsigned j = 0; l->qs && j < l->cfg->workers; j++)
            if (l->qs[j].slot)
                dq_fini(&l->qs[j]);
        free(l->qs);
        if (l->pool.slot)
            dq_fini(&l->pool);
        free(l->fds);
        free(l->rx);
        free(l->wk);
    }
    free(ls);
    fc_metrics_set_ready(cfg->metrics, false);
    persist_tick(&p, &ps, true); /* "Close flushes" (goflow2-spec.md 5) */
    publish_stats(&p);
    if (p.log_muted)
        fk_warn("%llu more decode errors were muted", (unsigned long long)p.log_muted);
    /* The exact per-socket counts replace what SO_RXQ_OVFL saw on the way. */
    if (p.st.kernel_drops_final > p.st.kernel_drops)
        p.st.kernel_drops = p.st.kernel_drops_final;
    *st = p.st;
    if (!cfg->state)
        fc_state_free(p.state);
    return rc;
}
