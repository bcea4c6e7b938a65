/*
 * loadgen.c - IPFIX load for flowcollector's load test and benchmarks: E
 * exporters (one UDP socket each, so each has its own source port), each
 * with two template sets (IPv4 template 256, IPv6 template 257, RFC 7011
 * 3.4.1), blasting data messages of exactly R records at full speed
 * (sendmmsg) to a collector on loopback.
 *
 *   loadgen -p PORT [-e EXPORTERS] [-r RECORDS] [-n MESSAGES] [-R MSGS_PER_S] [-w]
 *
 * Phase 1: every exporter sends one message holding both templates.  With
 * -w, loadgen then reads a line from stdin before going on: "go" starts the
 * blast, "again" resends the templates first (so a test can check that the
 * collector learned every template before the blast, and a template message
 * lost to a full socket buffer is not mistaken for lost data).
 * Phase 2: each exporter sends MESSAGES data messages (alternating the two
 * templates), round-robin over the exporters in batches of 64, at full speed
 * or at -R data messages per second in total (benchmarks: below the
 * collector's limit, so that nothing is dropped).
 * Phase 3: after 300 ms of quiet, one more data message per exporter, so a
 * collector's sequence check sees a gap even for messages dropped at the
 * very end of the blast.
 *
 * Sequence numbers follow RFC 7011 3.1 (data records sent before this message,
 * per observation domain; exporter e uses domain e + 1).  Every record is
 * distinct (ports and counters come from a per-exporter counter).  Prints
 * "loadgen: E exporters, D data messages, N records sent" at the end.
 * Only loopback destinations are accepted.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EXP  64
#define BATCH    64
#define MSG_MAX  1500
#define REC4_LEN (4 + 4 + 2 + 2 + 1 + 8 + 8 + 8 + 8)   /* 45 */
#define REC6_LEN (16 + 16 + 2 + 2 + 1 + 8 + 8 + 8 + 8) /* 69 */

static uint8_t *put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    p = put16(p, (uint16_t)(v >> 16));
    return put16(p, (uint16_t)v);
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
    p = put32(p, (uint32_t)(v >> 32));
    return put32(p, (uint32_t)v);
}

/* The IPFIX message header (RFC 7011 3.1); the length is patched by the caller. */
static uint8_t *header(uint8_t *p, uint32_t seq, uint32_t domain)
{
    p = put16(p, 10);
    p = put16(p, 0);
    p = put32(p, (uint32_t)time(NULL));
    p = put32(p, seq);
    return put32(p, domain);
}

static size_t templates(uint8_t *m, uint32_t seq, uint32_t domain)
{
    static const uint16_t v4[][2] = {{8, 4}, {12, 4}, {7, 2},   {11, 2}, {4, 1},
                                     {1, 8}, {2, 8},  {152, 8}, {153, 8}};
    static const uint16_t v6[][2] = {{27, 16}, {28, 16}, {7, 2},   {11, 2}, {4, 1},
                                     {1, 8},   {2, 8},   {152, 8}, {153, 8}};
    uint8_t *p = header(m, seq, domain), *set = p;
    p = put16(p, 2); /* template set */
    p = put16(p, 0);
    p = put16(p, 256);
    p = put16(p, 9);
    for (int i = 0; i < 9; i++)
        p = put16(put16(p, v4[i][0]), v4[i][1]);
    p = put16(p, 257);
    p = put16(p, 9);
    for (int i = 0; i < 9; i++)
        p = put16(put16(p, v6[i][0]), v6[i][1]);
    put16(set + 2, (uint16_t)(p - set));
    put16(m + 2, (uint16_t)(p - m));
    return (size_t)(p - m);
}

static size_t data(uint8_t *m, uint32_t seq, uint32_t domain, int v6, unsigned r, uint64_t *ctr)
{
    uint8_t *p = header(m, seq, domain), *set = p;
    uint64_t now_ms = (uint64_t)time(NULL) * 1000;
    p = put16(p, v6 ? 257 : 256);
    p = put16(p, 0);
    for (unsigned i = 0; i < r; i++) {
        uint64_t c = (*ctr)++;
        if (v6) {
            static const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
            memcpy(p, a, 16);
            put32(p + 12, (uint32_t)(domain << 24 | (c & 0xffffff)));
            p += 16;
            memcpy(p, a, 16);
            p[15] = 1;
            p += 16;
        } else {
            p = put32(p, 0x0a000000u | (uint32_t)(domain << 16) | (uint32_t)(c & 0xffff));
            p = put32(p, 0xc6120001u);
        }
        p = put16(p, (uint16_t)(1024 + c % 60000));
        p = put16(p, 443);
        *p++ = 6;
        p = put64(p, 1000 + c);
        p = put64(p, 1 + c % 100);
        p = put64(p, now_ms - 1000);
        p = put64(p, now_ms);
    }
    put16(set + 2, (uint16_t)(p - set));
    put16(m + 2, (uint16_t)(p - m));
    return (size_t)(p - m);
}

int main(int argc, char **argv)
{
    int port = 0, nexp = 4, opt, wait_go = 0;
    unsigned recs = 20;
    long msgs = 1000;
    const char *addr = "127.0.0.1";

    double rate = 0;
    while ((opt = getopt(argc, argv, "a:p:e:r:n:R:w")) != -1) {
        switch (opt) {
        case 'a':
            addr = optarg;
            break;
        case 'p':
            port = atoi(optarg);
            break;
        case 'e':
            nexp = atoi(optarg);
            break;
        case 'r':
            recs = (unsigned)atoi(optarg);
            break;
        case 'n':
            msgs = atol(optarg);
            break;
        case 'R':
            rate = atof(optarg);
            break;
        case 'w':
            wait_go = 1;
            break;
        default:
            fprintf(stderr, "usage: loadgen -p PORT [-a 127.0.0.1] [-e EXPORTERS] [-r RECORDS] "
                            "[-n MESSAGES] [-R MSGS_PER_S] [-w]\n");
            return 2;
        }
    }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (port <= 0 || port > 65535 || nexp < 1 || nexp > MAX_EXP || recs < 1 ||
        recs * REC6_LEN + 20 > MSG_MAX || msgs < 0 || inet_pton(AF_INET, addr, &to.sin_addr) != 1 ||
        (ntohl(to.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr,
                "loadgen: need -p PORT, a 127.0.0.0/8 address, 1..%d exporters, "
                "1..%d records\n",
                MAX_EXP, (MSG_MAX - 20) / REC6_LEN);
        return 2;
    }
    int fd[MAX_EXP];
    uint32_t seq[MAX_EXP] = {0};
    uint64_t ctr[MAX_EXP];
    for (int e = 0; e < nexp; e++) {
        fd[e] = socket(AF_INET, SOCK_DGRAM, 0);
        int sb = 4 << 20;
        setsockopt(fd[e], SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
        if (fd[e] < 0 || connect(fd[e], (struct sockaddr *)&to, sizeof(to)) < 0) {
            perror("loadgen: socket");
            return 1;
        }
        ctr[e] = (uint64_t)e << 40;
    }
    static uint8_t buf[BATCH][MSG_MAX];
    char line[64];
    do {
        for (int e = 0; e < nexp; e++) {
            size_t n = templates(buf[0], seq[e], (uint32_t)e + 1);
            if (send(fd[e], buf[0], n, 0) < 0)
                perror("loadgen: send");
        }
        if (!wait_go)
            break;
        printf("templates sent\n");
        fflush(stdout);
        if (!fgets(line, sizeof(line), stdin))
            return 1;
    } while (strncmp(line, "again", 5) == 0);

    struct mmsghdr mh[BATCH];
    struct iovec iov[BATCH];
    long sent_msgs = 0;
    uint64_t sent_recs = 0;
    long left[MAX_EXP];
    for (int e = 0; e < nexp; e++)
        left[e] = msgs;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int active = nexp; active;) {
        active = 0;
        for (int e = 0; e < nexp; e++) {
            int k = 0;
            for (; k < BATCH && left[e] > 0; k++, left[e]--) {
                size_t n = data(buf[k], seq[e], (uint32_t)e + 1, (int)(left[e] & 1), recs, &ctr[e]);
                seq[e] += recs;
                iov[k].iov_base = buf[k];
                iov[k].iov_len = n;
                memset(&mh[k], 0, sizeof(mh[k]));
                mh[k].msg_hdr.msg_iov = &iov[k];
                mh[k].msg_hdr.msg_iovlen = 1;
            }
            for (int off = 0; off < k;) {
                int s = sendmmsg(fd[e], mh + off, (unsigned)(k - off), 0);
                if (s <= 0) {
                    perror("loadgen: sendmmsg");
                    return 1;
                }
                off += s;
            }
            sent_msgs += k;
            sent_recs += (uint64_t)k * recs;
            while (rate > 0) { /* pace: no faster than -R messages per second */
                struct timespec t;
                clock_gettime(CLOCK_MONOTONIC, &t);
                double el = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
                if ((double)sent_msgs <= el * rate)
                    break;
                struct timespec nap = {0, 200000};
                nanosleep(&nap, NULL);
            }
            if (left[e] > 0)
                active = 1;
        }
    }
    struct timespec q = {0, 300000000};
    nanosleep(&q, NULL);
    for (int e = 0; e < nexp; e++) { /* the trailer: reveals drops at the very end */
        size_t n = data(buf[0], seq[e], (uint32_t)e + 1, 0, recs, &ctr[e]);
        seq[e] += recs;
        if (send(fd[e], buf[0], n, 0) < 0)
            perror("loadgen: send");
        sent_msgs++;
        sent_recs += recs;
    }
    printf("loadgen: %d exporters, %ld data messages, %llu records sent\n", nexp, sent_msgs,
           (unsigned long long)sent_recs);
    for (int e = 0; e < nexp; e++)
        close(fd[e]);
    return 0;
}
