/*
 * test_tls_fp_memo.c - fk_tls_fingerprints (probe/proto/tls_hello.c), the
 * memoized JA3 + JA4, against fk_tls_ja3_md5 and fk_tls_ja4 called
 * directly, on every hello.
 *
 * The hellos come from a few base profiles (browser-like, an old client
 * with many ciphers, a one-cipher client, one with more extensions than
 * FK_TLS_EXT_MAX, one whose key is too long to memoize), each hello either
 * a profile as is or with ONE fingerprint input changed: a cipher, two
 * extensions swapped, SNI added/removed/emptied, the first or last ALPN
 * character, a signature algorithm (in the list or past its length, which
 * only the ipfixprobe mode reads), supported_versions, a point format, a
 * group, GREASE, legacy_version, an extension past FK_TLS_EXT_MAX, a
 * ServerHello, the proto character, the JA4 mode.  Per-connection bytes
 * (random, session id, key share, padding, unknown extensions) differ on
 * every hello, so a repeat hits only if the memo ignores them.  The
 * variants are few enough that a hot profile stays in the memo while its
 * mutations come and go: a key that missed any input would return the
 * profile's fingerprints for a mutation and fail here.  The same runs on
 * two threads at once, each with its own memo and counters.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "probe/proto/tls_hello.h"
#include "tests/common/bytebuild.h"

/* ------------------------------------------------------------------------ */
/* Randomness (per thread: the two-thread test runs this twice at once).    */

typedef struct rng_st {
    uint64_t s;
} rng_t;

static uint32_t rnd(rng_t *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (uint32_t)(r->s >> 16);
}

static uint32_t below(rng_t *r, uint32_t n)
{
    return rnd(r) % n;
}

/* ------------------------------------------------------------------------ */
/* Profiles.                                                                 */

#define P_CS   400 /* the long profile: its key passes the memo's bound */
#define P_EXT  40
#define P_LIST 32

typedef struct prof_st {
    uint8_t type; /* FK_TLS_CLIENT_HELLO, or FK_TLS_SERVER_HELLO (cs[0] is its suite) */
    uint16_t version;
    uint16_t cs[P_CS];
    size_t ncs;
    uint16_t ext[P_EXT]; /* extension types in order; bodies from the fields below */
    size_t next;
    uint16_t grp[P_LIST];
    size_t ngrp;
    uint8_t pf[P_LIST];
    size_t npf;
    uint16_t sa[P_LIST];
    size_t nsa;
    size_t sa_extra; /* words after the list inside the extension (ipfixprobe mode reads them) */
    uint16_t ver[P_LIST];
    size_t nver;
    char sni[32];
    bool sni_empty; /* a server_name extension whose list is empty */
    char alpn[3][16];
    size_t nalpn;
    char proto; /* fk_tls_fingerprints arguments */
    unsigned flags;
} prof_t;

#define LIST(dst, n, ...)                                   \
    do {                                                    \
        static const __typeof__(dst[0]) v_[] = __VA_ARGS__; \
        memcpy(dst, v_, sizeof(v_));                        \
        n = sizeof(v_) / sizeof(v_[0]);                     \
    } while (0)

enum { PROF_FIREFOX, PROF_CHROME, PROF_OLD, PROF_ONE, PROF_MANYEXT, PROF_LONG, PROF_N };

static void prof_base(prof_t *p, unsigned which)
{
    memset(p, 0, sizeof(*p));
    p->type = FK_TLS_CLIENT_HELLO;
    p->version = 0x0303;
    p->proto = 't';
    p->flags = FK_JA4_IPFIXPROBE;
    strcpy(p->sni, "example.org");
    LIST(p->grp, p->ngrp, {0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101});
    LIST(p->pf, p->npf, {0});
    LIST(p->sa, p->nsa, {0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501});
    LIST(p->ver, p->nver, {0x0304, 0x0303});
    strcpy(p->alpn[0], "h2");
    strcpy(p->alpn[1], "http/1.1");
    p->nalpn = 2;
    switch (which) {
    case PROF_FIREFOX:
        LIST(p->cs, p->ncs,
             {0x1301, 0x1303, 0x1302, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc02c, 0xc030, 0xc00a,
              0xc009, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f});
        LIST(p->ext, p->next, {0, 23, 65281, 10, 11, 35, 16, 5, 34, 51, 43, 13, 45, 28, 21});
        break;
    case PROF_CHROME:
        LIST(p->cs, p->ncs,
             {0x3a3a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
              0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035});
        LIST(p->ext, p->next,
             {0x8a8a, 0, 23, 65281, 10, 11, 35, 16, 5, 13, 18, 51, 45, 43, 27, 17513, 0x1a1a, 21});
        LIST(p->grp, p->ngrp, {0x4a4a, 0x001d, 0x0017, 0x0018});
        LIST(p->ver, p->nver, {0x5a5a, 0x0304, 0x0303});
        break;
    case PROF_OLD: /* a TLS 1.2 library with its whole cipher list, no ALPN */
        p->ncs = 60;
        for (size_t i = 0; i < p->ncs; i++)
            p->cs[i] = (uint16_t)(0xc000 + 3 * i);
        LIST(p->ext, p->next, {0, 11, 10, 35, 13, 15});
        p->nalpn = 0;
        p->nver = 0;
        break;
    case PROF_ONE: /* one cipher: its ServerHello mutation has the same cipher bytes */
        LIST(p->cs, p->ncs, {0x1301});
        LIST(p->ext, p->next, {0, 10, 11, 13, 16, 43, 51});
        break;
    case PROF_MANYEXT: /* more than FK_TLS_EXT_MAX: JA3 and JA4 walk the block */
        LIST(p->cs, p->ncs, {0x1301, 0x1302, 0xc02b, 0xc02f});
        LIST(p->ext, p->next, {0, 10, 11, 13, 16, 43, 51, 23, 65281, 35});
        for (uint16_t t = 100; p->next < FK_TLS_EXT_MAX + 6; t++)
            p->ext[p->next++] = t;
        break;
    case PROF_LONG: /* too long a key: computed every time */
        p->ncs = P_CS;
        for (size_t i = 0; i < p->ncs; i++)
            p->cs[i] = (uint16_t)(0x0100 + i);
        LIST(p->ext, p->next, {0, 10, 11, 13, 16, 43});
        break;
    }
}

/* ------------------------------------------------------------------------ */
/* Mutations: each changes one fingerprint input (or, M_NONE, none).         */

enum {
    M_NONE,
    M_CIPHER,
    M_SWAP_EXT,
    M_SNI_TOGGLE,
    M_SNI_EMPTY,
    M_ALPN_FIRST,
    M_ALPN_LAST,
    M_ALPN_OTHER, /* not an input: must hit */
    M_ALPN_DROP,
    M_SIGALG,
    M_SIGALG_EXTRA,
    M_VERSIONS,
    M_ECPF,
    M_GROUP,
    M_GREASE,
    M_LEGACY,
    M_PROTO,
    M_FLAGS,
    M_EXT_LATE,
    M_SERVER,
    M_N
};

static size_t ext_find(const prof_t *p, uint16_t type)
{
    for (size_t i = 0; i < p->next; i++)
        if (p->ext[i] == type)
            return i;
    return p->next;
}

static void ext_insert(prof_t *p, size_t at, uint16_t type)
{
    if (p->next == P_EXT)
        return;
    memmove(p->ext + at + 1, p->ext + at, (p->next - at) * sizeof(p->ext[0]));
    p->ext[at] = type;
    p->next++;
}

static void ext_remove(prof_t *p, size_t at)
{
    memmove(p->ext + at, p->ext + at + 1, (p->next - at - 1) * sizeof(p->ext[0]));
    p->next--;
}

/* A list of 16-bit values: insert v at i. */
static void list_insert(uint16_t *l, size_t *n, size_t cap, size_t i, uint16_t v)
{
    if (*n == cap)
        return;
    memmove(l + i + 1, l + i, (*n - i) * sizeof(l[0]));
    l[i] = v;
    (*n)++;
}

/* Mutation m with a small parameter k (few variants: they recur and hit too). */
static void mutate(prof_t *p, unsigned m, unsigned k)
{
    static const uint16_t alt16[] = {0x009c, 0x1304, 0xc024};
    static const char alnum[] = "xY3";
    size_t i;

    switch (m) {
    case M_CIPHER:
        p->cs[k % p->ncs] = alt16[k % 3];
        break;
    case M_SWAP_EXT: {
        size_t a = k % p->next, b = (k + 1 + k / 3) % p->next;
        uint16_t t = p->ext[a];
        p->ext[a] = p->ext[b];
        p->ext[b] = t;
        break;
    }
    case M_SNI_TOGGLE:
        if ((i = ext_find(p, 0)) < p->next)
            ext_remove(p, i);
        else
            ext_insert(p, k % (p->next + 1), 0);
        break;
    case M_SNI_EMPTY:
        if (ext_find(p, 0) == p->next)
            ext_insert(p, 0, 0);
        p->sni_empty = true;
        break;
    case M_ALPN_FIRST:
    case M_ALPN_LAST:
        if (p->nalpn == 0) {
            ext_insert(p, k % (p->next + 1), 16);
            p->nalpn = 1;
            strcpy(p->alpn[0], "h2c");
        }
        i = strlen(p->alpn[0]);
        /* ipfixprobe mode turns a non-alphanumeric byte into a nibble */
        p->alpn[0][m == M_ALPN_FIRST ? 0 : i - 1] = k % 4 == 3 ? '\x80' : alnum[k % 3];
        break;
    case M_ALPN_OTHER: /* the second protocol and the first one's middle */
        if (p->nalpn >= 2)
            p->alpn[1][k % 3] = alnum[k % 3];
        if (p->nalpn && strlen(p->alpn[0]) > 2)
            p->alpn[0][1] = alnum[k % 3];
        break;
    case M_ALPN_DROP:
        if ((i = ext_find(p, 16)) < p->next)
            ext_remove(p, i);
        p->nalpn = 0;
        break;
    case M_SIGALG:
        p->sa[k % p->nsa] = alt16[k % 3];
        break;
    case M_SIGALG_EXTRA:
        p->sa_extra = 1 + k % 2;
        break;
    case M_VERSIONS:
        if (k % 3 == 2 && p->nver)
            p->nver--;
        else
            list_insert(p->ver, &p->nver, P_LIST, 0, k % 3 ? 0x7f1c : 0x0302);
        if (ext_find(p, 43) == p->next)
            ext_insert(p, 0, 43);
        break;
    case M_ECPF:
        if (p->npf && k % 2)
            p->npf = 0;
        else if (p->npf)
            p->pf[0] ^= 1;
        else
            p->pf[p->npf++] = 1;
        break;
    case M_GROUP:
        p->grp[k % p->ngrp] = alt16[k % 3];
        break;
    case M_GREASE: /* RFC 8701 values into one list */
        switch (k % 5) {
        case 0:
            list_insert(p->cs, &p->ncs, P_CS, 0, 0x0a0a);
            break;
        case 1:
            ext_insert(p, 1, 0xdada);
            break;
        case 2:
            list_insert(p->grp, &p->ngrp, P_LIST, 0, 0x2a2a);
            break;
        case 3:
            list_insert(p->sa, &p->nsa, P_LIST, 0, 0x6a6a);
            break;
        default:
            list_insert(p->ver, &p->nver, P_LIST, 0, 0xfafa);
            break;
        }
        break;
    case M_LEGACY:
        p->version = (uint16_t)(0x0300 + k % 3);
        break;
    case M_PROTO:
        p->proto = "qd"[k % 2];
        break;
    case M_FLAGS:
        p->flags ^= FK_JA4_IPFIXPROBE;
        break;
    case M_EXT_LATE: /* an extension at or past FK_TLS_EXT_MAX (added if need be) */
        for (; p->next < FK_TLS_EXT_MAX + 2; p->next++)
            p->ext[p->next] = (uint16_t)(200 + p->next);
        p->ext[FK_TLS_EXT_MAX + k % 2] = (uint16_t)(0x4000 + k % 3);
        break;
    case M_SERVER:
        p->type = FK_TLS_SERVER_HELLO;
        break;
    }
}

/* ------------------------------------------------------------------------ */
/* The hello on the wire.                                                    */

static void w_rand(bld_t *w, rng_t *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put8(w, rnd(r));
}

static void w_ext_body(bld_t *w, rng_t *r, const prof_t *p, uint16_t type)
{
    size_t at;

    switch (type) {
    case FK_TLS_EXT_SERVER_NAME:
        if (p->sni_empty) {
            put16(w, 0);
            break;
        }
        put16(w, 3 + strlen(p->sni));
        put8(w, 0);
        put16(w, strlen(p->sni));
        for (const char *c = p->sni; *c; c++)
            put8(w, (uint8_t)*c);
        break;
    case FK_TLS_EXT_SUPPORTED_GROUPS:
        put16(w, 2 * p->ngrp);
        for (size_t i = 0; i < p->ngrp; i++)
            put16(w, p->grp[i]);
        break;
    case FK_TLS_EXT_EC_POINT_FORMATS:
        put8(w, p->npf);
        for (size_t i = 0; i < p->npf; i++)
            put8(w, p->pf[i]);
        break;
    case FK_TLS_EXT_SIG_ALGS:
        put16(w, 2 * p->nsa);
        for (size_t i = 0; i < p->nsa; i++)
            put16(w, p->sa[i]);
        for (size_t i = 0; i < p->sa_extra; i++)
            put16(w, 0x0807);
        break;
    case FK_TLS_EXT_ALPN:
        at = len16(w);
        for (size_t i = 0; i < p->nalpn; i++) {
            put8(w, strlen(p->alpn[i]));
            for (const char *c = p->alpn[i]; *c; c++)
                put8(w, (uint8_t)*c);
        }
        len16_end(w, at);
        break;
    case FK_TLS_EXT_SUPPORTED_VERSIONS:
        put8(w, 2 * p->nver);
        for (size_t i = 0; i < p->nver; i++)
            put16(w, p->ver[i]);
        break;
    case 51: /* key_share: one x25519 share, new on every connection */
        put16(w, 36);
        put16(w, 0x001d);
        put16(w, 32);
        w_rand(w, r, 32);
        break;
    case 21: /* padding: its length varies with the rest (e.g. the SNI) */
        for (size_t n = below(r, 40); n > 0; n--)
            put8(w, 0);
        break;
    default: /* not a fingerprint input: anything */
        w_rand(w, r, below(r, 9));
    }
}

/* The hello of profile p with fresh per-connection bytes; its length. */
static size_t hello_write(const prof_t *p, rng_t *r, uint8_t *out, size_t cap)
{
    bld_t w;
    size_t at;

    w.n = 0;

    put8(&w, p->type);
    put8(&w, 0), put16(&w, 0); /* length, below */
    put16(&w, p->version);
    w_rand(&w, r, 32);
    if (p->type == FK_TLS_CLIENT_HELLO) {
        put8(&w, 32);
        w_rand(&w, r, 32);
        put16(&w, 2 * p->ncs);
        for (size_t i = 0; i < p->ncs; i++)
            put16(&w, p->cs[i]);
        put8(&w, 1), put8(&w, 0);
    } else {
        put8(&w, 0);
        put16(&w, p->cs[0]);
        put8(&w, 0);
    }
    at = len16(&w);
    for (size_t i = 0; i < p->next; i++) {
        put16(&w, p->ext[i]);
        size_t len_at = len16(&w);
        w_ext_body(&w, r, p, p->ext[i]);
        len16_end(&w, len_at);
    }
    len16_end(&w, at);
    size_t n = w.n - 4;
    w.b[1] = (uint8_t)(n >> 16), w.b[2] = (uint8_t)(n >> 8), w.b[3] = (uint8_t)n;
    assert_true(w.n <= cap);
    memcpy(out, w.b, w.n);
    return w.n;
}

/* ------------------------------------------------------------------------ */
/* The check.                                                                */

typedef struct run_st {
    uint64_t seed;
    unsigned count;
    unsigned bad;                    /* hellos whose memoized fingerprints differ */
    unsigned differs[M_N];           /* mutations whose fingerprints differ from the profile's */
    uint64_t hits, misses, ja4_hits; /* this thread's counters at the end */
    unsigned ja3_same;               /* run_permuting: hellos whose JA3 is the first one's */
    char first_bad[160];
} run_t;

/*
 * Whether a hello gives the same fingerprints through the memo as computed
 * directly (return values too); true when it does.
 */
static bool check_one(const prof_t *p, rng_t *r, uint8_t ja3[16], char ja4[FK_TLS_JA4_LEN + 1])
{
    uint8_t buf[4096], d3[16];
    char d4[FK_TLS_JA4_LEN + 1];
    fk_tls_hello_t h;

    size_t n = hello_write(p, r, buf, sizeof(buf));
    if (fk_tls_hello_parse(&h, buf, n, false) != FK_TLS_OK)
        return false;
    int rc = fk_tls_fingerprints(&h, p->proto, p->flags, ja3, ja4);
    int rc3 = fk_tls_ja3_md5(&h, d3), rc4 = fk_tls_ja4(&h, p->proto, p->flags, d4);
    return rc == ((rc3 || rc4) ? -1 : 0) && rc3 == 0 && rc4 == 0 && memcmp(ja3, d3, 16) == 0 &&
           memcmp(ja4, d4, sizeof(d4)) == 0;
}

static void *run(void *arg)
{
    run_t *t = arg;
    rng_t r = {t->seed};
    prof_t base[PROF_N];
    uint8_t bja3[PROF_N][16];
    char bja4[PROF_N][FK_TLS_JA4_LEN + 1];

    for (unsigned i = 0; i < PROF_N; i++) {
        prof_base(&base[i], i);
        if (!check_one(&base[i], &r, bja3[i], bja4[i]))
            t->bad++;
    }
    for (unsigned i = 0; i < t->count; i++) {
        unsigned which = below(&r, PROF_N), m = below(&r, 2) ? M_NONE : below(&r, M_N);
        prof_t p = base[which];
        uint8_t ja3[16];
        char ja4[FK_TLS_JA4_LEN + 1];

        mutate(&p, m, below(&r, 6));
        if (!check_one(&p, &r, ja3, ja4)) {
            if (t->bad++ == 0)
                snprintf(t->first_bad, sizeof(t->first_bad),
                         "hello %u: profile %u mutation %u: memo %s", i, which, m, ja4);
        } else if (memcmp(ja3, bja3[which], 16) != 0 || strcmp(ja4, bja4[which]) != 0) {
            t->differs[m]++;
        }
    }
    fk_tls_fingerprints_counts(&t->hits, &t->misses, &t->ja4_hits);
    return NULL;
}

static void report(const run_t *t)
{
    print_message("seed %llu: %u hellos, %llu hits, %llu misses (%llu with a kept JA4), %u "
                  "wrong%s%s\n",
                  (unsigned long long)t->seed, t->count, (unsigned long long)t->hits,
                  (unsigned long long)t->misses, (unsigned long long)t->ja4_hits, t->bad,
                  t->bad ? ": " : "", t->first_bad);
}

/* fn(t) on a thread of its own (the memo and its counters start empty), then reported. */
static void run_alone(void *(*fn)(void *), run_t *t)
{
    pthread_t id;

    assert_int_equal(pthread_create(&id, NULL, fn, t), 0);
    pthread_join(id, NULL);
    report(t);
}

/* Every mutation but the ones that are not inputs changes the fingerprints. */
static void assert_mutations_matter(const run_t *t)
{
    for (unsigned m = 1; m < M_N; m++) {
        if (m == M_ALPN_OTHER)
            assert_int_equal(t->differs[m], 0);
        else if (m != M_GREASE) /* GREASE changes some of them only */
            assert_true(t->differs[m] > 0);
    }
}

static void test_memo_equals_direct(void **state)
{
    (void)state;
    run_t t = {.seed = 0x9e3779b97f4a7c15u, .count = 200000};

    run(&t);
    report(&t);
    assert_int_equal(t.bad, 0);
    assert_mutations_matter(&t);
    /* Half the hellos are a profile as is; all but the long one hit after
     * their first time (2 ways per set keep them in). */
    assert_int_equal(t.hits + t.misses, t.count + PROF_N);
    assert_true(t.hits > t.count / 2 * 4 / 6);
    /* Far more keys than entries: entries were evicted and made again. */
    assert_true(t.misses > 10000);
}

/* Each thread's memo and counters are its own. */
static void test_memo_two_threads(void **state)
{
    (void)state;
    run_t t[2] = {{.seed = 12345, .count = 100000}, {.seed = 67890, .count = 60000}};
    pthread_t id[2];
    uint64_t hits, misses, ja4_hits;

    fk_tls_fingerprints_counts(&hits, &misses, &ja4_hits);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&id[i], NULL, run, &t[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(id[i], NULL);
        report(&t[i]);
        assert_int_equal(t[i].bad, 0);
        assert_int_equal(t[i].hits + t[i].misses, t[i].count + PROF_N);
        assert_true(t[i].hits > t[i].count / 2);
    }
    uint64_t h2, m2, j2;
    fk_tls_fingerprints_counts(&h2, &m2, &j2);
    assert_true(h2 == hits && m2 == misses && j2 == ja4_hits); /* this thread's, untouched */
}

/* The extensions of p in a random order (Fisher-Yates). */
static void permute(prof_t *p, rng_t *r)
{
    for (size_t i = p->next; i > 1; i--) {
        size_t j = below(r, (uint32_t)i);
        uint16_t t = p->ext[i - 1];
        p->ext[i - 1] = p->ext[j];
        p->ext[j] = t;
    }
}

/*
 * A client that shuffles its extensions on every connection (Chrome): the
 * whole key misses each time, the JA4 is found by the sorted types after
 * the first, and every result is what the direct computations give.
 */
static void *run_permuting(void *arg)
{
    run_t *t = arg;
    rng_t r = {t->seed};
    prof_t base;
    uint8_t ja3[16], first3[16];
    char ja4[FK_TLS_JA4_LEN + 1], first4[FK_TLS_JA4_LEN + 1];
    prof_base(&base, PROF_CHROME);
    for (unsigned i = 0; i < t->count; i++) {
        prof_t p = base;
        permute(&p, &r);
        if (!check_one(&p, &r, ja3, ja4)) {
            t->bad++;
            continue;
        }
        if (i == 0) {
            memcpy(first3, ja3, sizeof(ja3));
            memcpy(first4, ja4, sizeof(ja4));
        }
        t->ja3_same += memcmp(ja3, first3, sizeof(ja3)) == 0;
        if (strcmp(ja4, first4) != 0)
            t->bad++; /* JA4 must not depend on the order */
    }
    fk_tls_fingerprints_counts(&t->hits, &t->misses, &t->ja4_hits);
    return NULL;
}

static void test_memo_permuting_client(void **state)
{
    (void)state;
    run_t t = {.seed = 0xc0ffee, .count = 3000};

    run_alone(run_permuting, &t);
    assert_int_equal(t.bad, 0);
    assert_true(t.ja3_same < t.count / 100); /* JA3 does follow the order */
    /* 18 extensions: orders almost never repeat; every miss but the first
     * found its JA4 kept. */
    assert_int_equal(t.hits + t.misses, t.count);
    assert_true(t.misses > t.count - t.count / 100);
    assert_int_equal(t.ja4_hits, t.misses - 1);
}

/*
 * Shuffled extensions on top of every mutation, from every profile: a JA4
 * found by sorted types must be the one computed (a key that missed an
 * input of fk_tls_ja4 would give a wrong one here).
 */
static void *run_mixed(void *arg)
{
    run_t *t = arg;
    rng_t r = {t->seed};
    prof_t base[PROF_N];

    for (unsigned i = 0; i < PROF_N; i++)
        prof_base(&base[i], i);
    for (unsigned i = 0; i < t->count; i++) {
        unsigned which = below(&r, PROF_N), m = below(&r, M_N);
        prof_t p = base[which];
        uint8_t ja3[16];
        char ja4[FK_TLS_JA4_LEN + 1];

        mutate(&p, m, below(&r, 6));
        /* M_EXT_LATE's extension stays past FK_TLS_EXT_MAX (the parse's
         * kept list is then cut: the key is made by walking the block). */
        if (m != M_EXT_LATE)
            permute(&p, &r);
        if (!check_one(&p, &r, ja3, ja4) && t->bad++ == 0)
            snprintf(t->first_bad, sizeof(t->first_bad), "hello %u: profile %u mutation %u", i,
                     which, m);
    }
    fk_tls_fingerprints_counts(&t->hits, &t->misses, &t->ja4_hits);
    return NULL;
}

static void test_memo_permuted_mutations(void **state)
{
    (void)state;
    run_t t = {.seed = 271828, .count = 100000};

    run_alone(run_mixed, &t);
    assert_int_equal(t.bad, 0);
    /* Some 700 JA4 inputs recur, in a table of 128: many are found, many made again. */
    assert_true(t.ja4_hits > t.count / 10);
    assert_true(t.misses - t.ja4_hits > t.count / 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memo_equals_direct),
        cmocka_unit_test(test_memo_two_threads),
        cmocka_unit_test(test_memo_permuting_client),
        cmocka_unit_test(test_memo_permuted_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
