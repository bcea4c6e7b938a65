/*
 * osquery.c - ipfixprobe's "osquery" plugin: for a flow of this host, the
 * program and user owning its socket, and what the host runs (OS name,
 * version, platform, architecture, kernel, host name).
 *
 * ipfixprobe asks a running osqueryi (tables process_open_sockets,
 * processes, users, os_version, kernel_info, system_info).  flowprobe reads
 * the same facts straight from the kernel, with no helper process:
 *
 *   socket    the flow's addresses and ports in /proc/net/{tcp,tcp6} or
 *             {udp,udp6} (an IPv4 flow may sit in the *6 files of a
 *             dual-stack socket, as ::ffff:a.b.c.d); either end may be the
 *             local one.  An exact match wins; for UDP an unconnected socket
 *             bound to the local port (remote 0:0, local address or wildcard)
 *             also counts -- osquery's exact match would miss every
 *             unconnected UDP client and server.  Sockets without an inode
 *             (TIME_WAIT) have no process and do not count.
 *   process   the process holding "socket:[INODE]" among the /proc/PID/fd links;
 *             PROGRAM_NAME is its /proc/PID/comm (osquery's processes.name),
 *             USERNAME the name of its real uid (/proc/PID/status "Uid:")
 *             by getpwuid_r, or empty when the uid has no name.
 *   OS        /etc/os-release (else /usr/lib/os-release; os-release(5)):
 *             NAME, VERSION_ID ("22.04" gives major 22, minor 4), BUILD_ID,
 *             ID, ID_LIKE; the machine from uname(2); the kernel release and
 *             host name from /proc/sys/kernel/{osrelease,hostname}, with
 *             ".domainname" appended when the NIS domain is set.
 *
 * As ipfixprobe, a flow carries a record only when the owning process was
 * found; other flows (not of this host, no socket, no process) carry none,
 * so their fields print empty.  Unlike ipfixprobe, which asks when a flow is
 * created, the lookup runs once per flow when it is exported (pre_export):
 * never on the per-packet path, and long flows are still matched.  A flow
 * whose socket was closed before the export gets no record.
 *
 * Cost: flows whose addresses are not local (from /proc/net/fib_trie
 * "host LOCAL" entries, /proc/net/if_inet6, 127/8 and ::1; reread at most
 * once a second) are rejected before any other file is read, so a probe on
 * a mirror port pays almost nothing.  Socket inodes map to processes through
 * a table built by one walk of /proc/PID/fd, rebuilt on a miss at most every
 * OSQ_RESCAN_NS; each hit is verified with one readlink.  User names are
 * cached by uid.  No allocation after init (directories are read with
 * getdents64 into fixed buffers); one mutex serialises the lookups of all
 * workers.
 *
 * Options: proc=DIR reads DIR instead of /proc (a probe in a container with
 * the host's /proc mounted elsewhere), osrelease=FILE another os-release.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/core/cursor.h"
#include "../plugin.h"

#define OSQ_PROTO_TCP 6
#define OSQ_PROTO_UDP 17

/* String capacities, NUL included; longer values are truncated. */
#define OSQ_PROGRAM_CAP 32 /* comm is at most 15 characters (TASK_COMM_LEN) */
#define OSQ_USER_CAP    64
#define OSQ_NAME_CAP    96 /* os-release NAME, kernel release (uname: 64) */
#define OSQ_STR_CAP     64 /* the other os-release values */
#define OSQ_ARCH_CAP    32
#define OSQ_HOST_CAP    160 /* host name (64) + '.' + NIS domain name (64) */
#define OSQ_PATH_CAP    512
#define OSQ_ROOT_MAX    256  /* longest proc= directory */
#define OSQ_LINE_BUF    8192 /* /proc text lines; a longer line is skipped */
#define OSQ_DENTS_BUF   32768
#define OSQ_LOCAL_MAX   128   /* local addresses kept per family */
#define OSQ_INODES      16384 /* socket inodes mapped per /proc walk (power of 2) */
#define OSQ_USERS       16
#define OSQ_PWBUF       4096

#define OSQ_LOCAL_REFRESH_NS 1000000000ULL /* local addresses: reread after 1 s */
#define OSQ_RESCAN_NS        100000000ULL  /* /proc/PID/fd walk: at most every 100 ms */

typedef struct osq_record_st {
    char program[OSQ_PROGRAM_CAP];
    char user[OSQ_USER_CAP];
    char os_name[OSQ_NAME_CAP];
    uint16_t os_major;
    uint16_t os_minor;
    char os_build[OSQ_STR_CAP];
    char os_platform[OSQ_STR_CAP];
    char os_platform_like[OSQ_STR_CAP];
    char os_arch[OSQ_ARCH_CAP];
    char kernel[OSQ_NAME_CAP];
    char hostname[OSQ_HOST_CAP];
} osq_record_t;

/* Per flow: only what differs between flows; the OS part lives in the context. */
typedef struct osq_state_st {
    uint8_t has; /* the owning process was found */
    char program[OSQ_PROGRAM_CAP];
    char user[OSQ_USER_CAP];
} osq_state_t;

typedef struct osq_v4net_st {
    uint8_t a[4];
    uint8_t plen; /* prefix length, 0..32 */
} osq_v4net_t;

typedef struct osq_inode_st {
    uint64_t inode; /* 0 = empty slot */
    uint32_t pid;
    uint32_t fd;
} osq_inode_t;

typedef struct osq_user_st {
    uint32_t uid;
    uint8_t used;
    char name[OSQ_USER_CAP]; /* "" = the uid has no name */
} osq_user_t;

typedef struct osq_ctx_st {
    char proc[OSQ_ROOT_MAX]; /* procfs mount point, no trailing '/' */
    osq_record_t os;         /* OS fields, filled at init, read-only after */
    pthread_mutex_t lock;    /* guards everything below */
    uint64_t local_at;       /* monotonic ns of the last local-address read; 0 = never */
    bool local_known;        /* fib_trie was readable: filter on local addresses */
    unsigned nlocal4, nlocal6;
    osq_v4net_t local4[OSQ_LOCAL_MAX];
    uint8_t local6[OSQ_LOCAL_MAX][16];
    uint64_t scan_at; /* monotonic ns of the last /proc/PID/fd walk; 0 = never */
    uint32_t ninodes;
    osq_inode_t inodes[OSQ_INODES];
    unsigned next_user; /* round-robin victim in users[] */
    osq_user_t users[OSQ_USERS];
    char line[OSQ_LINE_BUF];                  /* osq_each_line's buffer */
    _Alignas(8) char dents[2][OSQ_DENTS_BUF]; /* /proc and /proc/PID/fd listings */
    char pwbuf[OSQ_PWBUF];
} osq_ctx_t;

static const fk_optspec_t osq_opts[] = {
    {NULL, "proc", "DIR", "procfs mount point to read (default /proc)"},
    {NULL, "osrelease", "FILE", "os-release file (default /etc/os-release, /usr/lib/os-release)"},
    {NULL, NULL, NULL, NULL},
};

static const fk_field_t osq_fields[] = {
    FK_STR(osq_record_t, program, "OSQUERY_PROGRAM_NAME", "osquery_program_name", 8057, 852, 0),
    FK_STR(osq_record_t, user, "OSQUERY_USERNAME", "osquery_username", 8057, 853, 0),
    FK_STR(osq_record_t, os_name, "OSQUERY_OS_NAME", "osquery_os_name", 8057, 854, 0),
    FK_U16(osq_record_t, os_major, "OSQUERY_OS_MAJOR", "osquery_os_major", 8057, 855, 0),
    FK_U16(osq_record_t, os_minor, "OSQUERY_OS_MINOR", "osquery_os_minor", 8057, 856, 0),
    FK_STR(osq_record_t, os_build, "OSQUERY_OS_BUILD", "osquery_os_build", 8057, 857, 0),
    FK_STR(osq_record_t, os_platform, "OSQUERY_OS_PLATFORM", "osquery_os_platform", 8057, 858, 0),
    FK_STR(osq_record_t, os_platform_like, "OSQUERY_OS_PLATFORM_LIKE", "osquery_os_platform_like",
           8057, 859, 0),
    FK_STR(osq_record_t, os_arch, "OSQUERY_OS_ARCH", "osquery_os_arch", 8057, 860, 0),
    FK_STR(osq_record_t, kernel, "OSQUERY_KERNEL_VERSION", "osquery_kernel_version", 8057, 861, 0),
    FK_STR(osq_record_t, hostname, "OSQUERY_SYSTEM_HOSTNAME", "osquery_system_hostname", 8057, 862,
           0),
};

static uint64_t osq_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec + 1; /* never 0 */
}

/* Copy at most cap - 1 bytes of s[0..n), stopping at a NUL or newline. */
static void osq_copy(char *dst, size_t cap, const char *s, size_t n)
{
    size_t i = 0;

    for (; i < n && i + 1 < cap && s[i] && s[i] != '\n'; i++)
        dst[i] = s[i];
    dst[i] = 0;
}

/* ---- reading /proc text files without allocating ---- */

typedef bool (*osq_line_fn)(void *arg, char *line, size_t len); /* false: stop */

/*
 * Call fn for each line of `path` (NUL-terminated, newline removed).  Lines
 * longer than the buffer are skipped whole.  Returns false when the file
 * cannot be opened.
 */
static bool osq_each_line(osq_ctx_t *x, const char *path, osq_line_fn fn, void *arg)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t have = 0;
    bool skipping = false; /* inside an overlong line */

    if (fd < 0)
        return false;
    for (;;) {
        ssize_t n = read(fd, x->line + have, sizeof(x->line) - 1 - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (have && !skipping) {
                x->line[have] = 0;
                fn(arg, x->line, have);
            }
            break;
        }
        have += (size_t)n;
        size_t start = 0;
        char *nl;
        while ((nl = memchr(x->line + start, '\n', have - start)) != NULL) {
            size_t len = (size_t)(nl - (x->line + start));
            *nl = 0;
            if (!skipping && !fn(arg, x->line + start, len)) {
                close(fd);
                return true;
            }
            skipping = false;
            start += len + 1;
        }
        memmove(x->line, x->line + start, have - start);
        have -= start;
        if (have == sizeof(x->line) - 1) { /* no newline in a full buffer */
            skipping = true;
            have = 0;
        }
    }
    close(fd);
    return true;
}

/* Read a small file's first line into dst (cap bytes, NUL-terminated); false if unreadable. */
static bool osq_read_first_line(const char *path, char *dst, size_t cap)
{
    char buf[512];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    dst[0] = 0;
    if (fd < 0)
        return false;
    do
        n = read(fd, buf, sizeof(buf));
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n < 0)
        return false;
    osq_copy(dst, cap, buf, (size_t)n);
    return true;
}

static int osq_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Exactly `digits` (<= 8) hex digits at *s into *out; advances *s. */
static bool osq_hex32(const char **s, unsigned digits, uint32_t *out)
{
    uint32_t v = 0;

    for (unsigned i = 0; i < digits; i++) {
        int h = osq_hexval((*s)[i]);
        if (h < 0)
            return false;
        v = v << 4 | (uint32_t)h;
    }
    *s += digits;
    *out = v;
    return true;
}

/* A decimal number of at most 10 digits into *out; advances *s. */
static bool osq_dec32(const char **s, uint32_t *out)
{
    uint64_t v = 0;
    unsigned i = 0;

    for (; (*s)[i] >= '0' && (*s)[i] <= '9'; i++) {
        if (i == 10)
            return false;
        v = v * 10 + (uint64_t)((*s)[i] - '0');
    }
    if (i == 0 || v > UINT32_MAX)
        return false;
    *s += i;
    *out = (uint32_t)v;
    return true;
}

static const char *osq_skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static const char *osq_skip_token(const char *s)
{
    while (*s && *s != ' ' && *s != '\t')
        s++;
    return s;
}

/* ---- local addresses ---- */

static const uint8_t osq_v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool osq_is_v4(const uint8_t ip[16])
{
    return memcmp(ip, osq_v4mapped, 12) == 0;
}

typedef struct osq_trie_st {
    osq_ctx_t *x;
    uint8_t last[4]; /* the last "|-- a.b.c.d" */
    bool have_last;
} osq_trie_t;

static bool osq_parse_dotted(const char *s, uint8_t out[4])
{
    for (unsigned i = 0; i < 4; i++) {
        uint32_t v;
        if (!osq_dec32(&s, &v) || v > 255)
            return false;
        out[i] = (uint8_t)v;
        if (i < 3 && *s++ != '.')
            return false;
    }
    return *s == 0 || *s == ' ';
}

/*
 * /proc/net/fib_trie: a "|-- ADDRESS" leaf line, then one line per route of
 * that leaf, e.g. "   /32 host LOCAL".  The "host LOCAL" routes are this
 * host's own addresses (a /8 one for 127.0.0.0).
 */
static bool osq_trie_line(void *arg, char *line, size_t len)
{
    osq_trie_t *t = arg;
    osq_ctx_t *x = t->x;
    const char *s = osq_skip_ws(line);
    const char *leaf = strstr(s, "|-- ");
    uint32_t plen;

    (void)len;
    if (leaf) {
        t->have_last = osq_parse_dotted(leaf + 4, t->last);
        return true;
    }
    if (!t->have_last || *s != '/' || !strstr(s, " host LOCAL"))
        return true;
    s++;
    if (!osq_dec32(&s, &plen) || plen > 32)
        return true;
    for (unsigned i = 0; i < x->nlocal4; i++)
        if (memcmp(x->local4[i].a, t->last, 4) == 0 && x->local4[i].plen == plen)
            return true;
    if (x->nlocal4 < OSQ_LOCAL_MAX) {
        memcpy(x->local4[x->nlocal4].a, t->last, 4);
        x->local4[x->nlocal4].plen = (uint8_t)plen;
        x->nlocal4++;
    }
    return true;
}

/* /proc/net/if_inet6: "32 hex digits (the address, network order) ifindex plen scope flags name".
 */
static bool osq_inet6_line(void *arg, char *line, size_t len)
{
    osq_ctx_t *x = arg;
    const char *s = line;
    uint8_t a[16];

    if (len < 32)
        return true;
    for (unsigned i = 0; i < 16; i++) {
        uint32_t v;
        if (!osq_hex32(&s, 2, &v))
            return true;
        a[i] = (uint8_t)v;
    }
    if (x->nlocal6 < OSQ_LOCAL_MAX)
        memcpy(x->local6[x->nlocal6++], a, 16);
    return true;
}

static void osq_refresh_local(osq_ctx_t *x, uint64_t now)
{
    char path[OSQ_PATH_CAP];
    osq_trie_t t = {x, {0}, false};

    if (x->local_at && now - x->local_at < OSQ_LOCAL_REFRESH_NS)
        return;
    x->local_at = now;
    x->nlocal4 = 0;
    x->nlocal6 = 0;
    snprintf(path, sizeof(path), "%s/net/fib_trie", x->proc);
    x->local_known = osq_each_line(x, path, osq_trie_line, &t);
    snprintf(path, sizeof(path), "%s/net/if_inet6", x->proc);
    osq_each_line(x, path, osq_inet6_line, x);
}

static bool osq_is_local(const osq_ctx_t *x, const uint8_t ip[16])
{
    static const uint8_t loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

    if (!x->local_known)
        return true; /* cannot tell: let the socket tables decide */
    if (osq_is_v4(ip)) {
        const uint8_t *a = ip + 12;
        if (a[0] == 127)
            return true;
        for (unsigned i = 0; i < x->nlocal4; i++) {
            uint32_t net = fk_load_be32(x->local4[i].a), addr = fk_load_be32(a);
            unsigned plen = x->local4[i].plen;
            uint32_t mask = plen ? ~(uint32_t)0 << (32 - plen) : 0;
            if ((net & mask) == (addr & mask))
                return true;
        }
        return false;
    }
    if (memcmp(ip, loop6, 16) == 0)
        return true;
    for (unsigned i = 0; i < x->nlocal6; i++)
        if (memcmp(x->local6[i], ip, 16) == 0)
            return true;
    return false;
}

/* ---- the socket of a flow: /proc/net/{tcp,udp}{,6} ---- */

typedef struct osq_sockq_st {
    const fp_flow_t *flow;
    bool v6file; /* 32-digit addresses (tcp6/udp6) */
    bool udp;    /* unconnected sockets count */
    int best;    /* osq_sock_line's score of `inode`, 0 = none yet */
    uint64_t inode;
} osq_sockq_t;

/* "ADDRESS:PORT" as the kernel prints it: each 32-bit word of the address
 * with %08X of its in-memory (network order) value read as a host integer. */
static bool osq_sock_addr(const char **s, bool v6, uint8_t ip[16], uint16_t *port)
{
    uint32_t w, p;

    if (v6) {
        for (unsigned i = 0; i < 4; i++) {
            if (!osq_hex32(s, 8, &w))
                return false;
            memcpy(ip + 4 * i, &w, 4);
        }
    } else {
        if (!osq_hex32(s, 8, &w))
            return false;
        memcpy(ip, osq_v4mapped, 12);
        memcpy(ip + 12, &w, 4);
    }
    if (**s != ':')
        return false;
    (*s)++;
    if (!osq_hex32(s, 4, &p))
        return false;
    *port = (uint16_t)p;
    return true;
}

static bool osq_is_any(const uint8_t ip[16])
{
    static const uint8_t zero[16];
    return memcmp(ip, zero, 16) == 0 || (osq_is_v4(ip) && memcmp(ip + 12, zero, 4) == 0);
}

/*
 * One socket line:
 *   sl: local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
 * Scores: 4 = exact, local end is the flow's SRC; 3 = exact, local is DST;
 * 2 / 1 = the same for an unconnected UDP socket bound to the local port.
 */
static bool osq_sock_line(void *arg, char *line, size_t len)
{
    osq_sockq_t *q = arg;
    const fp_flow_t *f = q->flow;
    const char *s = osq_skip_ws(line);
    uint8_t lip[16], rip[16];
    uint16_t lport, rport;
    uint32_t v;
    uint64_t inode = 0;
    int score = 0;

    (void)len;
    s = osq_skip_ws(osq_skip_token(s)); /* "sl:" */
    if (!osq_sock_addr(&s, q->v6file, lip, &lport) || (*s != ' ' && *s != '\t'))
        return true;
    s = osq_skip_ws(s);
    if (!osq_sock_addr(&s, q->v6file, rip, &rport))
        return true;
    for (unsigned i = 0; i < 4; i++) /* st, queues, timer, retransmits */
        s = osq_skip_token(osq_skip_ws(s));
    s = osq_skip_ws(s);
    if (!osq_dec32(&s, &v)) /* uid */
        return true;
    s = osq_skip_token(osq_skip_ws(s)); /* timeout */
    s = osq_skip_ws(s);
    for (unsigned i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
        if (i == 19)
            return true; /* more than a 64-bit inode */
        inode = inode * 10 + (uint64_t)(s[i] - '0');
    }
    if (inode == 0)
        return true; /* TIME_WAIT and the like: no process holds it */

    for (int end = 0; end < 2; end++) {
        const uint8_t *me = end ? f->dst_ip : f->src_ip, *peer = end ? f->src_ip : f->dst_ip;
        uint16_t myport = end ? f->dst_port : f->src_port;
        uint16_t peerport = end ? f->src_port : f->dst_port;

        if (lport != myport)
            continue;
        if (memcmp(lip, me, 16) == 0 && memcmp(rip, peer, 16) == 0 && rport == peerport) {
            if (score < 4 - end)
                score = 4 - end;
        } else if (q->udp && rport == 0 && osq_is_any(rip) &&
                   (memcmp(lip, me, 16) == 0 || osq_is_any(lip))) {
            if (score < 2 - end)
                score = 2 - end;
        }
    }
    if (score > q->best) {
        q->best = score;
        q->inode = inode;
    }
    return q->best < 4; /* nothing beats an exact match from SRC */
}

/* Inode of the socket owning `f`, 0 when none. */
static uint64_t osq_find_socket(osq_ctx_t *x, const fp_flow_t *f)
{
    char path[OSQ_PATH_CAP];
    const char *name = f->proto == OSQ_PROTO_TCP ? "tcp" : "udp";
    osq_sockq_t q = {f, false, f->proto == OSQ_PROTO_UDP, 0, 0};

    if (f->ip_version == 4) {
        snprintf(path, sizeof(path), "%s/net/%s", x->proc, name);
        osq_each_line(x, path, osq_sock_line, &q);
    }
    if (q.best < 4) {
        q.v6file = true;
        snprintf(path, sizeof(path), "%s/net/%s6", x->proc, name);
        osq_each_line(x, path, osq_sock_line, &q);
    }
    return q.inode;
}

/* ---- socket inode -> process: /proc/PID/fd ---- */

static uint32_t osq_inode_slot(uint64_t inode)
{
    return (uint32_t)((inode * 0x9e3779b97f4a7c15ULL) >> 50) & (OSQ_INODES - 1);
}

static void osq_inode_put(osq_ctx_t *x, uint64_t inode, uint32_t pid, uint32_t fd)
{
    uint32_t i = osq_inode_slot(inode);

    if (x->ninodes >= OSQ_INODES / 4 * 3)
        return; /* keep probes short; the rest is found by the next walk */
    while (x->inodes[i].inode) {
        if (x->inodes[i].inode == inode)
            return; /* shared after fork: the first holder is as good */
        i = (i + 1) & (OSQ_INODES - 1);
    }
    x->inodes[i] = (osq_inode_t){inode, pid, fd};
    x->ninodes++;
}

static const osq_inode_t *osq_inode_get(const osq_ctx_t *x, uint64_t inode)
{
    for (uint32_t i = osq_inode_slot(inode);; i = (i + 1) & (OSQ_INODES - 1)) {
        if (x->inodes[i].inode == inode)
            return &x->inodes[i];
        if (!x->inodes[i].inode)
            return NULL;
    }
}

/* "socket:[INODE]" -> INODE, 0 otherwise. */
static uint64_t osq_socket_link(const char *s, size_t n)
{
    uint64_t v = 0;
    size_t i = 8;

    if (n < 10 || memcmp(s, "socket:[", 8) != 0 || s[n - 1] != ']')
        return 0;
    for (; i < n - 1; i++) {
        if (s[i] < '0' || s[i] > '9' || i - 8 >= 19)
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    return v;
}

/* A directory entry name made of digits only, as a number; false otherwise. */
static bool osq_numeric(const char *name, uint32_t *out)
{
    const char *s = name;
    return osq_dec32(&s, out) && *s == 0;
}

/*
 * Call fn for each entry of the open directory dfd, reading with getdents64
 * into buf (so nothing is allocated).
 */
static void osq_dir_each(int dfd, char *buf, size_t cap, void (*fn)(void *, int, const char *),
                         void *arg)
{
    const size_t hdr = offsetof(struct dirent64, d_name);
    ssize_t n;

    while ((n = getdents64(dfd, buf, cap)) > 0) {
        size_t off = 0;
        while ((size_t)n - off > hdr) {
            const struct dirent64 *d = (const struct dirent64 *)(const void *)(buf + off);
            size_t rl = d->d_reclen;
            if (rl <= hdr || rl > (size_t)n - off || !memchr(d->d_name, 0, rl - hdr))
                return; /* a record the kernel would not write */
            fn(arg, dfd, d->d_name);
            off += rl;
        }
    }
}

typedef struct osq_walk_st {
    osq_ctx_t *x;
    uint32_t pid;
} osq_walk_t;

static void osq_walk_fd(void *arg, int dfd, const char *name)
{
    osq_walk_t *w = arg;
    char link[64];
    uint32_t fd;
    ssize_t n;

    if (!osq_numeric(name, &fd))
        return;
    n = readlinkat(dfd, name, link, sizeof(link));
    if (n <= 0 || (size_t)n >= sizeof(link))
        return;
    uint64_t inode = osq_socket_link(link, (size_t)n);
    if (inode)
        osq_inode_put(w->x, inode, w->pid, fd);
}

static void osq_walk_pid(void *arg, int dfd, const char *name)
{
    osq_walk_t *w = arg;
    char path[OSQ_PATH_CAP];
    int fdd;

    (void)dfd;
    if (!osq_numeric(name, &w->pid) || w->pid == 0)
        return;
    snprintf(path, sizeof(path), "%s/%s/fd", w->x->proc, name);
    fdd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fdd < 0)
        return; /* gone, or not ours to read */
    osq_dir_each(fdd, w->x->dents[1], sizeof(w->x->dents[1]), osq_walk_fd, w);
    close(fdd);
}

/* Rebuild the inode map from every link /proc/PID/fd/N -> socket:[INODE]. */
static void osq_walk(osq_ctx_t *x, uint64_t now)
{
    osq_walk_t w = {x, 0};
    int pfd;

    x->scan_at = now;
    memset(x->inodes, 0, sizeof(x->inodes));
    x->ninodes = 0;
    pfd = open(x->proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0)
        return;
    osq_dir_each(pfd, x->dents[0], sizeof(x->dents[0]), osq_walk_pid, &w);
    close(pfd);
}

/* True when /proc/PID/fd/FD still is socket:[INODE]. */
static bool osq_inode_check(const osq_ctx_t *x, const osq_inode_t *e)
{
    char path[OSQ_PATH_CAP], link[64];
    ssize_t n;

    snprintf(path, sizeof(path), "%s/%u/fd/%u", x->proc, (unsigned)e->pid, (unsigned)e->fd);
    n = readlink(path, link, sizeof(link));
    return n > 0 && (size_t)n < sizeof(link) && osq_socket_link(link, (size_t)n) == e->inode;
}

/* The process holding socket `inode`, 0 when none is found. */
static uint32_t osq_pid_of(osq_ctx_t *x, uint64_t inode, uint64_t now)
{
    const osq_inode_t *e = x->scan_at ? osq_inode_get(x, inode) : NULL;

    if (e && osq_inode_check(x, e))
        return e->pid;
    if (x->scan_at && now - x->scan_at < OSQ_RESCAN_NS)
        return 0;
    osq_walk(x, now);
    e = osq_inode_get(x, inode);
    return e && osq_inode_check(x, e) ? e->pid : 0;
}

/* ---- process -> program and user ---- */

static bool osq_status_line(void *arg, char *line, size_t len)
{
    uint32_t *uid = arg;
    const char *s = line;

    (void)len;
    if (strncmp(s, "Uid:", 4) != 0)
        return true;
    s = osq_skip_ws(s + 4);
    if (!osq_dec32(&s, uid))
        *uid = UINT32_MAX;
    return false;
}

static void osq_user_name(osq_ctx_t *x, uint32_t uid, char *dst, size_t cap)
{
    struct passwd pw, *res = NULL;
    osq_user_t *u;

    for (unsigned i = 0; i < OSQ_USERS; i++)
        if (x->users[i].used && x->users[i].uid == uid) {
            osq_copy(dst, cap, x->users[i].name, sizeof(x->users[i].name));
            return;
        }
    u = &x->users[x->next_user];
    x->next_user = (x->next_user + 1) % OSQ_USERS;
    u->used = 1;
    u->uid = uid;
    u->name[0] = 0;
    if (getpwuid_r((uid_t)uid, &pw, x->pwbuf, sizeof(x->pwbuf), &res) == 0 && res && pw.pw_name)
        osq_copy(u->name, sizeof(u->name), pw.pw_name, sizeof(u->name));
    osq_copy(dst, cap, u->name, sizeof(u->name));
}

/* Fill s->program and s->user from /proc/PID; false if the process is gone. */
static bool osq_process(osq_ctx_t *x, uint32_t pid, osq_state_t *s)
{
    char path[OSQ_PATH_CAP];
    uint32_t uid = UINT32_MAX;

    snprintf(path, sizeof(path), "%s/%u/comm", x->proc, (unsigned)pid);
    if (!osq_read_first_line(path, s->program, sizeof(s->program)))
        return false;
    snprintf(path, sizeof(path), "%s/%u/status", x->proc, (unsigned)pid);
    osq_each_line(x, path, osq_status_line, &uid);
    s->user[0] = 0;
    if (uid != UINT32_MAX)
        osq_user_name(x, uid, s->user, sizeof(s->user));
    return true;
}

/* ---- the host: os-release(5), kernel, host name ---- */

/* An os-release value: "double quoted" (with \ escapes), 'single quoted' or bare. */
static void osq_osr_value(const char *v, char *dst, size_t cap)
{
    size_t n = 0;
    char q = 0;

    if (*v == '"' || *v == '\'')
        q = *v++;
    for (; *v && *v != q; v++) {
        if (q == '"' && *v == '\\' && v[1])
            v++;
        if (!q && (*v == ' ' || *v == '\t'))
            break;
        if (n + 1 < cap)
            dst[n++] = *v;
    }
    dst[n] = 0;
}

/* VERSION_ID "22.04" -> 22 and 4; non-digits give 0; values saturate at 65535. */
static void osq_version(const char *v, uint16_t *major, uint16_t *minor)
{
    uint32_t part[2] = {0, 0};

    for (unsigned i = 0; i < 2; i++) {
        for (; *v >= '0' && *v <= '9'; v++)
            if ((part[i] = part[i] * 10 + (uint32_t)(*v - '0')) > 65535)
                part[i] = 65535;
        if (*v != '.')
            break;
        v++;
    }
    *major = (uint16_t)part[0];
    *minor = (uint16_t)part[1];
}

static bool osq_osr_line(void *arg, char *line, size_t len)
{
    osq_record_t *r = arg;
    const char *s = osq_skip_ws(line);
    char ver[32];

    (void)len;
    if (strncmp(s, "NAME=", 5) == 0) {
        osq_osr_value(s + 5, r->os_name, sizeof(r->os_name));
    } else if (strncmp(s, "VERSION_ID=", 11) == 0) {
        osq_osr_value(s + 11, ver, sizeof(ver));
        osq_version(ver, &r->os_major, &r->os_minor);
    } else if (strncmp(s, "BUILD_ID=", 9) == 0) {
        osq_osr_value(s + 9, r->os_build, sizeof(r->os_build));
    } else if (strncmp(s, "ID=", 3) == 0) {
        osq_osr_value(s + 3, r->os_platform, sizeof(r->os_platform));
    } else if (strncmp(s, "ID_LIKE=", 8) == 0) {
        osq_osr_value(s + 8, r->os_platform_like, sizeof(r->os_platform_like));
    }
    return true;
}

static void osq_read_os(osq_ctx_t *x, const char *osrelease)
{
    osq_record_t *r = &x->os;
    char path[OSQ_PATH_CAP], domain[80];
    struct utsname u;
    bool have_uts = uname(&u) == 0;

    if (osrelease)
        osq_each_line(x, osrelease, osq_osr_line, r);
    else if (!osq_each_line(x, "/etc/os-release", osq_osr_line, r))
        osq_each_line(x, "/usr/lib/os-release", osq_osr_line, r);

    if (have_uts)
        osq_copy(r->os_arch, sizeof(r->os_arch), u.machine, sizeof(u.machine));
    snprintf(path, sizeof(path), "%s/sys/kernel/osrelease", x->proc);
    if (!osq_read_first_line(path, r->kernel, sizeof(r->kernel)) && have_uts)
        osq_copy(r->kernel, sizeof(r->kernel), u.release, sizeof(u.release));
    snprintf(path, sizeof(path), "%s/sys/kernel/hostname", x->proc);
    if (!osq_read_first_line(path, r->hostname, sizeof(r->hostname)) && have_uts)
        osq_copy(r->hostname, sizeof(r->hostname), u.nodename, sizeof(u.nodename));
    snprintf(path, sizeof(path), "%s/sys/kernel/domainname", x->proc);
    if (r->hostname[0] && !strchr(r->hostname, '.') &&
        osq_read_first_line(path, domain, sizeof(domain)) && domain[0] &&
        strcmp(domain, "(none)") != 0) {
        size_t n = strlen(r->hostname);
        snprintf(r->hostname + n, sizeof(r->hostname) - n, ".%s", domain);
    }
}

/* ---- plugin hooks ---- */

static void osq_fini(void *ctx)
{
    osq_ctx_t *x = ctx;

    if (!x)
        return;
    pthread_mutex_destroy(&x->lock);
    free(x);
}

static int osq_init(void **ctx, const fk_opts_t *opts, fk_err_t *e)
{
    const char *proc = "/proc", *osrelease = NULL;
    osq_ctx_t *x;
    size_t n;

    for (size_t i = 0; opts && i < opts->n; i++) {
        int k = fk_opts_lookup(opts, i, osq_opts, "osquery", e);
        if (k < 0)
            return -1;
        if (k == 0)
            proc = opts->kv[i].value;
        else
            osrelease = opts->kv[i].value;
    }
    n = strlen(proc);
    while (n > 1 && proc[n - 1] == '/')
        n--;
    if (n == 0 || n >= OSQ_ROOT_MAX)
        return fk_errf(e, "osquery: proc= wants a directory path of 1..%d characters, got %zu",
                       OSQ_ROOT_MAX - 1, n);
    if (osrelease && strlen(osrelease) >= OSQ_PATH_CAP)
        return fk_errf(e, "osquery: osrelease= wants a path shorter than %d characters",
                       OSQ_PATH_CAP);
    x = calloc(1, sizeof(*x));
    if (!x)
        return fk_errf(e, "osquery: out of memory (%zu bytes)", sizeof(*x));
    memcpy(x->proc, proc, n);
    x->proc[n] = 0;
    if (pthread_mutex_init(&x->lock, NULL) != 0) {
        free(x);
        return fk_errf(e, "osquery: cannot create a mutex");
    }
    osq_read_os(x, osrelease);
    *ctx = x;
    return 0;
}

/* The lookup runs once per flow, when it leaves the cache (see the top). */
static void osq_pre_export(void *ctx, fp_flow_t *flow, void *state)
{
    osq_ctx_t *x = ctx;
    osq_state_t *s = state;
    uint64_t now, inode;
    uint32_t pid;

    s->has = 0;
    if (!x || (flow->proto != OSQ_PROTO_TCP && flow->proto != OSQ_PROTO_UDP))
        return;
    pthread_mutex_lock(&x->lock);
    now = osq_now();
    osq_refresh_local(x, now);
    if ((osq_is_local(x, flow->src_ip) || osq_is_local(x, flow->dst_ip)) &&
        (inode = osq_find_socket(x, flow)) != 0 && (pid = osq_pid_of(x, inode, now)) != 0)
        s->has = (uint8_t)osq_process(x, pid, s);
    pthread_mutex_unlock(&x->lock);
}

static unsigned osq_records(void *ctx, const fp_flow_t *flow, const void *state)
{
    (void)ctx;
    (void)flow;
    return ((const osq_state_t *)state)->has ? 1 : 0;
}

/*
 * The record is assembled from the context's OS part and the flow's program
 * and user in a per-thread buffer: valid until this thread's next call.
 */
static const void *osq_record(void *ctx, const fp_flow_t *flow, const void *state, unsigned i)
{
    static __thread osq_record_t out;
    const osq_ctx_t *x = ctx;
    const osq_state_t *s = state;

    (void)flow;
    (void)i;
    out = x->os;
    memcpy(out.program, s->program, sizeof(out.program));
    memcpy(out.user, s->user, sizeof(out.user));
    return &out;
}

const fp_plugin_t fp_plugin_osquery = {
    .abi = FP_PLUGIN_ABI,
    .name = "osquery",
    .summary = "flows of this host: program and user owning the socket, OS, kernel, host name",
    .options = osq_opts,
    .fields = osq_fields,
    .nfields = sizeof(osq_fields) / sizeof(osq_fields[0]),
    .record_size = sizeof(osq_record_t),
    .state_size = sizeof(osq_state_t),
    .init = osq_init,
    .fini = osq_fini,
    .pre_export = osq_pre_export,
    .records = osq_records,
    .record = osq_record,
};
