/*
 * test_plugin_osquery.c - the osquery plugin, driven through the real packet
 * parser and flow cache.
 *
 * With the real /proc: TCP and UDP socket pairs opened by this test process
 * (IPv4, IPv6, a dual-stack listener, an unconnected UDP server) give flows
 * whose PROGRAM_NAME is this binary's and whose USERNAME is ours; flows of
 * other hosts, without a socket, or of other protocols carry no record.
 *
 * With proc=DIR and osrelease=FILE pointing at a fake tree: exact values of
 * every field, and hostile files (100 kB lines, truncated and malformed
 * socket lines, oversized inodes, TIME_WAIT sockets, inodes nobody holds,
 * over-long comm, status without Uid, quoted os-release values).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/core/buf.h"
#include "lib/core/field.h"
#include "lib/core/opts.h"
#include "lib/packet/packet.h"
#include "probe/cache/cache.h"
#include "probe/plugin.h"

#define SEC  1000000000ULL
#define MAXF 32

#include "tests/common/plugintest.h"

static fp_cache_t *start(const char *arg)
{
    return pt_start(arg, collect);
}

static void finish(fp_cache_t *c)
{
    pt_finish(c);
}

static void v4(uint8_t ip[16], const char *s)
{
    memset(ip, 0, 10);
    ip[10] = ip[11] = 0xff;
    assert_int_equal(inet_pton(AF_INET, s, ip + 12), 1);
}

static void v6(uint8_t ip[16], const char *s)
{
    assert_int_equal(inet_pton(AF_INET6, s, ip), 1);
}

/* One packet src:sp -> dst:dp (IPv4 when src is IPv4-mapped, else IPv6). */
static void put(fp_cache_t *c, const uint8_t src[16], uint16_t sp, const uint8_t dst[16],
                uint16_t dp, uint8_t proto, uint64_t t)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    uint8_t f[128];
    bool is4 = memcmp(src, mapped, 12) == 0;
    size_t ih = is4 ? 20 : 40, l4 = proto == 6 ? 20 : 8, total = ih + l4 + 4;
    fk_packet_t pkt;

    memset(f, 0, sizeof(f));
    if (is4) {
        f[0] = 0x45;
        f[2] = (uint8_t)(total >> 8);
        f[3] = (uint8_t)total;
        f[8] = 64;
        f[9] = proto;
        memcpy(f + 12, src + 12, 4);
        memcpy(f + 16, dst + 12, 4);
    } else {
        f[0] = 0x60;
        f[4] = (uint8_t)((total - 40) >> 8);
        f[5] = (uint8_t)(total - 40);
        f[6] = proto;
        f[7] = 64;
        memcpy(f + 8, src, 16);
        memcpy(f + 24, dst, 16);
    }
    uint8_t *h = f + ih;
    if (proto == 6 || proto == 17) {
        h[0] = (uint8_t)(sp >> 8);
        h[1] = (uint8_t)sp;
        h[2] = (uint8_t)(dp >> 8);
        h[3] = (uint8_t)dp;
    }
    if (proto == 6) {
        h[12] = 5 << 4;
        h[13] = FK_TCP_ACK;
    } else if (proto == 17) {
        h[4] = 0;
        h[5] = (uint8_t)(l4 + 4);
    } else {
        h[0] = 8; /* ICMP echo */
    }
    fk_packet_parse(&pkt, FK_LINK_RAW, f, (uint32_t)total, (uint32_t)total, t);
    assert_true(fk_packet_has_key(&pkt));
    fp_cache_put(c, &pkt);
}

/* Both directions of one flow. */
static void put2(fp_cache_t *c, const uint8_t a[16], uint16_t ap, const uint8_t b[16], uint16_t bp,
                 uint8_t proto)
{
    put(c, a, ap, b, bp, proto, 1 * SEC);
    put(c, b, bp, a, ap, proto, 2 * SEC);
}

/* The exported flow from src:sp over proto, or fail. */
static size_t flow_by(const uint8_t src[16], uint16_t sp, uint8_t proto)
{
    for (size_t i = 0; i < g_nout; i++)
        if (g_flow[i].src_port == sp && g_flow[i].proto == proto &&
            memcmp(g_flow[i].src_ip, src, 16) == 0)
            return i;
    fail_msg("no flow from port %u", sp);
    return 0;
}

static uint16_t local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* A listening TCP socket on addr, port chosen by the kernel. */
static int tcp_listen(int family, const char *addr, int v6only)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int l = socket(family, SOCK_STREAM, 0);

    assert_true(l >= 0);
    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
        len = sizeof(*s4);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
        len = sizeof(*s6);
        assert_int_equal(setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)), 0);
    }
    assert_int_equal(bind(l, (struct sockaddr *)&ss, len), 0);
    assert_int_equal(listen(l, 4), 0);
    return l;
}

/* Connect a client of `family` to port `port` at `addr`, accept it on `l`. */
static void tcp_connect(int l, int family, const char *addr, uint16_t port, int *cli, int *srv)
{
    struct sockaddr_storage ss;
    socklen_t len;

    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        assert_int_equal(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
        len = sizeof(*s4);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        assert_int_equal(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
        len = sizeof(*s6);
    }
    *cli = socket(family, SOCK_STREAM, 0);
    assert_true(*cli >= 0);
    assert_int_equal(connect(*cli, (struct sockaddr *)&ss, len), 0);
    *srv = accept(l, NULL, NULL);
    assert_true(*srv >= 0);
}

static int udp_bound(const char *addr)
{
    struct sockaddr_in s4 = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(inet_pton(AF_INET, addr, &s4.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&s4, sizeof(s4)), 0);
    return fd;
}

static void udp_connect(int fd, uint16_t port)
{
    struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(port)};

    s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&s4, sizeof(s4)), 0);
}

static void read_file(const char *path, char *dst, size_t cap)
{
    FILE *f = fopen(path, "r");

    assert_non_null(f);
    assert_non_null(fgets(dst, (int)cap, f));
    fclose(f);
    dst[strcspn(dst, "\n")] = 0;
}

/* Our own process: the program and user every local record must show. */
static void check_ours(size_t i)
{
    char comm[64], want[128];
    struct passwd *pw = getpwuid(getuid());
    struct utsname u;

    assert_int_equal(g_nrec[i], 1);
    read_file("/proc/self/comm", comm, sizeof(comm));
    /* comm is the binary's name cut to 15 characters */
    assert_true(strlen(comm) >= 8);
    assert_int_equal(strncmp("test_plugin_osquery", comm, strlen(comm)), 0);
    snprintf(want, sizeof(want), "\"%s\"", comm);
    assert_string_equal(csv(i, "OSQUERY_PROGRAM_NAME"), want);
    snprintf(want, sizeof(want), "\"%s\"", pw ? pw->pw_name : "");
    assert_string_equal(csv(i, "OSQUERY_USERNAME"), want);
    assert_int_equal(uname(&u), 0);
    snprintf(want, sizeof(want), "\"%s\"", u.release);
    assert_string_equal(csv(i, "OSQUERY_KERNEL_VERSION"), want);
    snprintf(want, sizeof(want), "\"%s\"", u.machine);
    assert_string_equal(csv(i, "OSQUERY_OS_ARCH"), want);
    /* the host name, maybe followed by ".domain" */
    assert_int_equal(strncmp(csv(i, "OSQUERY_SYSTEM_HOSTNAME") + 1, u.nodename, strlen(u.nodename)),
                     0);
}

static void test_osquery_real_tcp_udp(void **state)
{
    (void)state;
    uint8_t lo[16], other[16], other2[16];
    int cli, srv;

    v4(lo, "127.0.0.1");
    int l = tcp_listen(AF_INET, "127.0.0.1", 0);
    uint16_t lport = local_port(l);
    tcp_connect(l, AF_INET, "127.0.0.1", lport, &cli, &srv);
    uint16_t cport = local_port(cli);

    int ua = udp_bound("127.0.0.1"), ub = udp_bound("127.0.0.1");
    uint16_t pa = local_port(ua), pb = local_port(ub);
    udp_connect(ua, pb);
    udp_connect(ub, pa);
    int userver = udp_bound("0.0.0.0"); /* unconnected, wildcard address */
    uint16_t ps = local_port(userver);

    fp_cache_t *c = start("osquery");
    put2(c, lo, cport, lo, lport, 6);  /* client -> server */
    put2(c, lo, pa, lo, pb, 17);       /* connected UDP */
    put2(c, lo, 9, lo, ps, 17);        /* a peer with no socket -> our server */
    put2(c, lo, 1, lo, 2, 17);         /* local, but no socket at all */
    put2(c, lo, lport, lo, cport, 17); /* TCP ports, but UDP */
    v4(other, "198.51.100.1");
    v4(other2, "203.0.113.9");
    put2(c, other, cport, other2, lport, 6); /* another host's flow */
    put2(c, lo, 0, lo, 0, 1);                /* ICMP */
    finish(c);

    assert_int_equal(g_nout, 7);
    size_t ours[3] = {flow_by(lo, cport, 6), flow_by(lo, pa, 17), flow_by(lo, 9, 17)};
    for (size_t k = 0; k < 3; k++)
        check_ours(ours[k]);
    for (size_t i = 0; i < g_nout; i++)
        if (i != ours[0] && i != ours[1] && i != ours[2])
            assert_int_equal(g_nrec[i], 0);
    close(cli);
    close(srv);
    close(l);
    close(ua);
    close(ub);
    close(userver);
}

/*
 * IPv6 over ::1, and an IPv4 connection to a dual-stack listener whose client
 * end is closed first: only the accepted socket, listed in tcp6 as
 * ::ffff:127.0.0.1, still has a process.
 */
static void test_osquery_real_ipv6_dual_stack(void **state)
{
    (void)state;
    uint8_t lo6[16], lo4[16];
    int cli, srv, cli2, srv2;
    int l6 = socket(AF_INET6, SOCK_STREAM, 0);

    if (l6 < 0)
        skip();
    close(l6);
    v6(lo6, "::1");
    v4(lo4, "127.0.0.1");
    int l = tcp_listen(AF_INET6, "::1", 1);
    uint16_t lport = local_port(l);
    tcp_connect(l, AF_INET6, "::1", lport, &cli, &srv);
    uint16_t cport = local_port(cli);

    int ld = tcp_listen(AF_INET6, "::", 0);
    uint16_t dport = local_port(ld);
    tcp_connect(ld, AF_INET, "127.0.0.1", dport, &cli2, &srv2);
    uint16_t c2port = local_port(cli2);
    close(cli2);

    fp_cache_t *c = start("osquery");
    put2(c, lo6, cport, lo6, lport, 6);
    put2(c, lo4, c2port, lo4, dport, 6);
    finish(c);

    assert_int_equal(g_nout, 2);
    check_ours(flow_by(lo6, cport, 6));
    check_ours(flow_by(lo4, c2port, 6));
    close(cli);
    close(srv);
    close(l);
    close(srv2);
    close(ld);
}

/* ---- a fake /proc ---- */

static char g_root[64];

static void wr(const char *rel, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", g_root, rel);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void mk(const char *rel)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/%s", g_root, rel);
    assert_int_equal(mkdir(path, 0755), 0);
}

static void ln(const char *target, const char *rel)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/%s", g_root, rel);
    assert_int_equal(symlink(target, path), 0);
}

/* "ADDRESS:PORT" as /proc/net/tcp{,6} prints it (host-order words). */
static void sockaddr_hex(char *out, const uint8_t ip[16], bool six, uint16_t port)
{
    uint32_t w;
    size_t n = 0;

    for (unsigned i = six ? 0 : 3; i < 4; i++) {
        memcpy(&w, ip + 4 * i, 4);
        n += (size_t)sprintf(out + n, "%08X", (unsigned)w);
    }
    sprintf(out + n, ":%04X", port);
}

static void sock_line(char *out, size_t cap, const uint8_t l[16], uint16_t lp, const uint8_t r[16],
                      uint16_t rp, bool six, const char *st, const char *inode)
{
    char la[48], ra[48];

    sockaddr_hex(la, l, six, lp);
    sockaddr_hex(ra, r, six, rp);
    snprintf(out, cap,
             "   1: %s %s %s 00000000:00000000 00:00000000 00000000     0        0 %s 1 "
             "0000000000000000 20 4 30 10 -1\n",
             la, ra, st, inode);
}

static char *long_line(size_t n, char ch)
{
    char *s = malloc(n + 2);
    assert_non_null(s);
    memset(s, ch, n);
    s[n] = '\n';
    s[n + 1] = 0;
    return s;
}

static void build_fake_proc(void)
{
    char buf[1024], line[512];
    uint8_t a[16], b[16], b2[16], x[16], y[16], z[16], a6[16], b6[16], any[16];
    char *big = long_line(100000, '7');

    strcpy(g_root, "/tmp/osq_testXXXXXX");
    assert_non_null(mkdtemp(g_root));
    mk("net");
    mk("sys");
    mk("sys/kernel");

    /* local: 192.0.2.10/32 and 2001:db8::10; hostile lines around them */
    wr("net/fib_trie", "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 192.0.2.10\n"
                       "        /32 host LOCAL\n     |-- 999.1.1.1\n        /32 host LOCAL\n"
                       "     |-- 192.0.2.0\n        /99 host LOCAL\n        /24 link UNICAST\n");
    {
        char path[256];
        snprintf(path, sizeof(path), "%s/net/fib_trie", g_root);
        FILE *f = fopen(path, "a");
        fputs(big, f);
        fputs("     |-- 10.9.0.0\n        /16 host LOCAL\n", f);
        fclose(f);
    }
    wr("net/if_inet6", "zz\n20010db8000000000000000000000010 02 40 00 80 eth0\n"
                       "20010db80000000000000000000000 02 40 00 80 short\n");

    v4(a, "192.0.2.10");
    v4(b, "192.0.2.20");
    v4(b2, "192.0.2.21");
    v4(x, "198.51.100.1");
    v4(y, "198.51.100.2");
    v4(z, "10.9.3.4");
    v6(a6, "2001:db8::10");
    v6(b6, "2001:db8::20");
    memset(any, 0, 12);
    any[10] = any[11] = 0xff;
    memset(any + 12, 0, 4);

    /* net/tcp: header, junk, a TIME_WAIT twin (inode 0), the real socket, ... */
    char *tcp = malloc(300000);
    assert_non_null(tcp);
    strcpy(tcp, "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
                "   uid  timeout inode\n");
    strcat(tcp, big);
    strcat(tcp, "   0: 0A0200C0:9C40\n   0: ZZ0200C0:9C40 140200C0:01BB 01\n   0:\n");
    sock_line(line, sizeof(line), a, 40000, b, 443, false, "01", "123456789012345678901234");
    strcat(tcp, line); /* inode too long: skipped */
    sock_line(line, sizeof(line), a, 40000, b, 443, false, "06", "0");
    strcat(tcp, line);
    sock_line(line, sizeof(line), a, 40000, b, 443, false, "01", "777");
    strcat(tcp, line);
    sock_line(line, sizeof(line), a, 40001, b, 443, false, "06", "0"); /* TIME_WAIT only */
    strcat(tcp, line);
    sock_line(line, sizeof(line), a, 40002, b, 443, false, "01", "555"); /* nobody holds it */
    strcat(tcp, line);
    sock_line(line, sizeof(line), x, 1000, y, 2000, false, "01", "777"); /* not local */
    strcat(tcp, line);
    sock_line(line, sizeof(line), z, 3000, b2, 4000, false, "01", "888"); /* local by /16 */
    strcat(tcp, line);
    strcat(tcp,
           "   9: 0A0200C0:9C40 140200C0:01BB 01 00000000:00000000 00:00000000 00000000"); /* cut */
    wr("net/tcp", tcp);
    free(tcp);

    sock_line(line, sizeof(line), a6, 5555, b6, 80, true, "01", "888");
    snprintf(buf, sizeof(buf), "  sl  local_address remote_address\n%s", line);
    wr("net/tcp6", buf);

    sock_line(line, sizeof(line), any, 5353, any, 0, false, "07", "999"); /* unconnected */
    wr("net/udp", line);
    /* no net/udp6: a missing file is no error */

    mk("4242");
    mk("4242/fd");
    ln("socket:[777]", "4242/fd/3");
    ln("socket:[999]", "4242/fd/4");
    ln("/dev/null", "4242/fd/0");
    ln("socket:[777", "4242/fd/5");
    ln("socket:[12x]", "4242/fd/6");
    ln("socket:[777]", "4242/fd/notanfd");
    wr("4242/comm", "fakeprog\n");
    wr("4242/status", "Name:\tfakeprog\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n");
    mk("5000");
    mk("5000/fd");
    ln("socket:[888]", "5000/fd/7");
    char *longcomm = long_line(1000, 'p');
    wr("5000/comm", longcomm);
    free(longcomm);
    wr("5000/status", "Name:\tp\nUid:\tnot-a-number\n");
    mk("6000"); /* no fd directory */
    mk("self");

    wr("sys/kernel/osrelease", "6.1.0-test\n");
    wr("sys/kernel/hostname", "fakehost\n");
    wr("sys/kernel/domainname", "example.org\n");

    snprintf(buf, sizeof(buf), "%s/os-release", g_root);
    FILE *f = fopen(buf, "w");
    assert_non_null(f);
    fputs("# comment\nNAME=\"Fake \\\"Linux\\\"\"\nVERSION_ID='22.04'\nBUILD_ID=rolling  \n"
          "ID=fake\nID_LIKE=\"debian ubuntu\"\n",
          f);
    fputs(big, f);
    fputs("VERSION=\"should not matter\"\n", f);
    fclose(f);
    free(big);
}

/* Teardown: remove the fake tree even when a test failed half-way. */
static int rm_tree(void **state)
{
    char cmd[128];

    (void)state;
    if (!g_root[0])
        return 0;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_root);
    g_root[0] = 0;
    return system(cmd) == 0 ? 0 : -1;
}

static void test_osquery_fake_proc(void **state)
{
    (void)state;
    char arg[256];
    uint8_t a[16], b[16], b2[16], x[16], y[16], z[16], a6[16], b6[16], peer[16];
    struct passwd *root = getpwuid(0);

    build_fake_proc();
    v4(a, "192.0.2.10");
    v4(b, "192.0.2.20");
    v4(b2, "192.0.2.21");
    v4(x, "198.51.100.1");
    v4(y, "198.51.100.2");
    v4(z, "10.9.3.4");
    v6(a6, "2001:db8::10");
    v6(b6, "2001:db8::20");
    v4(peer, "192.0.2.77");

    snprintf(arg, sizeof(arg), "osquery;proc=%s/;osrelease=%s/os-release", g_root, g_root);
    fp_cache_t *c = start(arg);
    put2(c, a, 40000, b, 443, 6);     /* 0: local SRC, fakeprog */
    put2(c, b, 443, a, 40000, 17);    /* UDP: no such socket */
    put2(c, a, 40001, b, 443, 6);     /* TIME_WAIT only */
    put2(c, a, 40002, b, 443, 6);     /* inode nobody holds */
    put2(c, x, 1000, y, 2000, 6);     /* listed, but not a local address */
    put2(c, b2, 4000, z, 3000, 6);    /* local DST (10.9/16): pid 5000 */
    put2(c, a6, 5555, b6, 80, 6);     /* IPv6: pid 5000 */
    put2(c, peer, 5353, a, 5353, 17); /* unconnected UDP socket on 0.0.0.0:5353 */
    finish(c);

    /* the first flow is created by 192.0.2.10:40000, the second by .20:443 */
    size_t i = flow_by(a, 40000, 6);
    assert_int_equal(g_nrec[i], 1);
    assert_string_equal(csv(i, "OSQUERY_PROGRAM_NAME"), "\"fakeprog\"");
    if (root) {
        char want[80];
        snprintf(want, sizeof(want), "\"%s\"", root->pw_name);
        assert_string_equal(csv(i, "OSQUERY_USERNAME"), want);
    }
    /* the CSV doubles the quotes the value holds */
    assert_string_equal(csv(i, "OSQUERY_OS_NAME"), "\"Fake \"\"Linux\"\"\"");
    assert_int_equal(u64(i, "OSQUERY_OS_MAJOR"), 22);
    assert_int_equal(u64(i, "OSQUERY_OS_MINOR"), 4);
    assert_string_equal(csv(i, "OSQUERY_OS_BUILD"), "\"rolling\"");
    assert_string_equal(csv(i, "OSQUERY_OS_PLATFORM"), "\"fake\"");
    assert_string_equal(csv(i, "OSQUERY_OS_PLATFORM_LIKE"), "\"debian ubuntu\"");
    assert_string_equal(csv(i, "OSQUERY_KERNEL_VERSION"), "\"6.1.0-test\"");
    assert_string_equal(csv(i, "OSQUERY_SYSTEM_HOSTNAME"), "\"fakehost.example.org\"");

    assert_int_equal(g_nout, 8);
    assert_int_equal(g_nrec[flow_by(b, 443, 17)], 0);
    assert_int_equal(g_nrec[flow_by(a, 40001, 6)], 0);
    assert_int_equal(g_nrec[flow_by(a, 40002, 6)], 0);
    assert_int_equal(g_nrec[flow_by(x, 1000, 6)], 0);

    i = flow_by(b2, 4000, 6);
    assert_int_equal(g_nrec[i], 1);
    /* comm cut to the field's 31 characters; no Uid: empty user */
    assert_string_equal(csv(i, "OSQUERY_PROGRAM_NAME"), "\"ppppppppppppppppppppppppppppppp\"");
    assert_string_equal(csv(i, "OSQUERY_USERNAME"), "\"\"");
    i = flow_by(a6, 5555, 6);
    assert_int_equal(g_nrec[i], 1);
    assert_string_equal(csv(i, "OSQUERY_USERNAME"), "\"\"");
    i = flow_by(peer, 5353, 17);
    assert_int_equal(g_nrec[i], 1);
    assert_string_equal(csv(i, "OSQUERY_PROGRAM_NAME"), "\"fakeprog\"");
}

/* A proc= that does not exist: no records, the kernel from uname(2). */
static void test_osquery_no_proc(void **state)
{
    (void)state;
    uint8_t lo[16];
    struct utsname u;
    char want[128];

    v4(lo, "127.0.0.1");
    fp_cache_t *c = start("osquery;proc=/nonexistent/proc;osrelease=/nonexistent/os-release");
    put2(c, lo, 1, lo, 2, 6);
    finish(c);
    assert_int_equal(g_nout, 1);
    assert_int_equal(g_nrec[0], 0);

    /* the OS part as a record would show it: the kernel from uname(2) */
    static uint64_t zero_state[64];
    fp_flow_t flow;
    assert_true(g_pi.p->state_size <= sizeof(zero_state));
    memset(&flow, 0, sizeof(flow));
    assert_int_equal(uname(&u), 0);
    c = start("osquery;proc=/nonexistent/proc");
    memcpy(g_rec[0], g_pi.p->record(g_pi.ctx, &flow, zero_state, 0), g_pi.p->record_size);
    snprintf(want, sizeof(want), "\"%s\"", u.release);
    assert_string_equal(csv(0, "OSQUERY_KERNEL_VERSION"), want);
    assert_string_equal(csv(0, "OSQUERY_PROGRAM_NAME"), "\"\"");
    finish(c);
}

static void test_osquery_options(void **state)
{
    (void)state;
    fk_opts_t o;
    fk_err_t e;
    void *ctx = NULL;
    char arg[700];
    const fp_plugin_t *p = fp_plugin_find("osquery");

    assert_non_null(p);
    assert_int_equal(fk_opts_parse("osquery;bogus=1", &o, &e), 0);
    assert_int_equal(p->init(&ctx, &o, &e), -1);
    fk_opts_free(&o);

    memcpy(arg, "osquery;proc=", 13);
    memset(arg + 13, 'd', 600);
    arg[613] = 0;
    assert_int_equal(fk_opts_parse(arg, &o, &e), 0);
    assert_int_equal(p->init(&ctx, &o, &e), -1);
    assert_non_null(strstr(e.msg, "proc="));
    fk_opts_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_osquery_real_tcp_udp),
        cmocka_unit_test(test_osquery_real_ipv6_dual_stack),
        cmocka_unit_test_teardown(test_osquery_fake_proc, rm_tree),
        cmocka_unit_test(test_osquery_no_proc),
        cmocka_unit_test(test_osquery_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
