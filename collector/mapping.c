/*
 * mapping.c - the mapping file (mapping.h): YAML (libyaml's document API,
 * whose nodes carry their line and column) checked against GoFlow2's schema
 * (goflow2-spec.md section 8; producer/proto/config.go, config_impl.go), then
 * compiled into a format (format.h) and lookup tables for the decoders.
 *
 *   formatter: {fields: [..], key: [..], render: {f: r}, rename: {f: out},
 *               protobuf: [{name, index, type: varint|string|bytes, array}]}
 *   ipfix:     {mapping: [{field, penprovided, pen, endian|endianness, destination}]}
 *   netflowv9: {mapping: [{field, endian|endianness, destination}]}
 *   sflow:     {mapping: [{layer, encap, offset, length, endian|endianness, destination}],
 *               ports: [{proto, dir, port, parser}]}
 */
#include "mapping.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "../lib/packet/packet.h"

/* Where a mapping entry writes. */
typedef struct dest_st {
    int16_t col;  /* fc_columns index, or -1 */
    int16_t cust; /* custom field number, or -1 */
} dest_t;

/* ipfix.mapping / netflowv9.mapping entry */
typedef struct nfmap_st {
    uint32_t pen; /* 0 unless penprovided */
    uint16_t field;
    uint8_t little; /* endianness: little */
    dest_t d;
} nfmap_t;

/* sflow.mapping layers, by where in the packet they start */
enum { L_FRAME, L_ETH, L_DOT1Q, L_MPLS, L_NET, L_TRANSPORT, L_APP };
/* ... and what the packet must have there */
enum { F_NONE, F_IPV4, F_IPV6, F_IP, F_ETYPE, F_PROTO };

typedef struct pktmap_st {
    uint8_t layer;           /* L_* */
    uint8_t filt;            /* F_* */
    uint8_t little;          /* endianness: little */
    uint16_t fval;           /* F_ETYPE / F_PROTO: the value required */
    uint32_t offset, length; /* bits */
    dest_t d;
} pktmap_t;

typedef struct cust_st {
    uint32_t pb;
    uint8_t type; /* fc_ctype_t */
    uint8_t array;
} cust_t;

struct fc_mapping_st {
    fc_format_t *fmt;
    cust_t cust[FC_FORMAT_MAX_CUSTOM];
    unsigned ncust;
    fc_mapkey_t key[FC_MAPPING_MAX_KEYS];
    char *keyname[FC_MAPPING_MAX_KEYS];
    unsigned nkey;
    nfmap_t nf[2][FC_MAPPING_MAX_ENTRIES]; /* [0] netflowv9, [1] ipfix */
    unsigned nnf[2];
    uint64_t nfbits[2][65536 / 64]; /* element ids with an entry: the decoders' quick test */
    pktmap_t pkt[FC_MAPPING_MAX_ENTRIES];
    unsigned npkt;
    unsigned nports;
    uint64_t skipped; /* updated with relaxed atomics by decoding threads */
};

const fc_mapping_t *fc__mapping_active;

/* ---- loading ----------------------------------------------------------------- */

typedef struct ld_st {
    yaml_document_t doc;
    const char *name;
    fk_err_t *e;
    fc_mapping_t *m;
} ld_t;

/* Set the error at node n (1-based line and column) and return -1. */
static int fail(ld_t *l, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(ld_t *l, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n)
        fk_errf(l->e, "%s:%lu:%lu: %s", l->name, (unsigned long)n->start_mark.line + 1,
                (unsigned long)n->start_mark.column + 1, msg);
    else
        fk_errf(l->e, "%s: %s", l->name, msg);
    return -1;
}

static yaml_node_t *node(ld_t *l, int id)
{
    return yaml_document_get_node(&l->doc, id);
}

static const char *kind_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a map";
    default:
        return "nothing";
    }
}

/* A null scalar: `key:` with no value, `~` or `null` (an empty list or map for us). */
static bool is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = (const char *)n->data.scalar.value;
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static const char *sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* A string value: any scalar (yaml.v3 decodes an int scalar into a string too). */
static int get_str(ld_t *l, const yaml_node_t *n, const char *what, const char **out)
{
    if (n->type != YAML_SCALAR_NODE || is_null(n))
        return fail(l, n, "%s: expected a string, found %s", what,
                    n->type == YAML_SCALAR_NODE ? "an empty value" : kind_name(n));
    if (strlen(sval(n)) != n->data.scalar.length)
        return fail(l, n, "%s: the string holds a NUL byte", what);
    *out = sval(n);
    return 0;
}

/* An unsigned integer in [0, max]: a plain scalar, decimal or 0x hex (YAML ints). */
static int get_uint(ld_t *l, const yaml_node_t *n, const char *what, uint64_t max, uint64_t *out)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return fail(l, n, "%s: expected an unquoted integer, found %s", what,
                    n->type == YAML_SCALAR_NODE ? "a quoted string" : kind_name(n));
    const char *s = sval(n);
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s[2])
        base = 16, s += 2;
    else if (s[0] == '+')
        s++;
    if (!*s)
        return fail(l, n, "%s: expected an integer, found \"%s\"", what, sval(n));
    uint64_t v = 0;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else if (*s == '_') /* YAML 1.1 digit separator, as yaml.v3 accepts */
            continue;
        else
            return fail(l, n, "%s: expected an integer, found \"%s\"", what, sval(n));
        if (v > (UINT64_MAX - d) / (uint64_t)base)
            return fail(l, n, "%s: %s is out of range (0..%llu)", what, sval(n),
                        (unsigned long long)max);
        v = v * (uint64_t)base + d;
    }
    if (v > max)
        return fail(l, n, "%s: %s is out of range (0..%llu)", what, sval(n),
                    (unsigned long long)max);
    *out = v;
    return 0;
}

/* A boolean: true/false in YAML 1.2's spellings (what yaml.v3 takes for a bool). */
static int get_bool(ld_t *l, const yaml_node_t *n, const char *what, bool *out)
{
    if (n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        const char *s = sval(n);
        if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
            *out = true;
            return 0;
        }
        if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
            *out = false;
            return 0;
        }
    }
    return fail(l, n, "%s: expected true or false, found %s%s%s", what,
                n->type == YAML_SCALAR_NODE ? "\"" : kind_name(n),
                n->type == YAML_SCALAR_NODE ? sval(n) : "",
                n->type == YAML_SCALAR_NODE ? "\"" : "");
}

/*
 * Walk map node n: every key must be a string among `keys` (NULL-ended) and
 * appear once; vals[i] gets the value node of keys[i] (NULL when absent).
 */
static int get_map(ld_t *l, const yaml_node_t *n, const char *what, const char *const *keys,
                   yaml_node_t **vals)
{
    size_t nk = 0;
    while (keys[nk])
        vals[nk++] = NULL;
    if (is_null(n))
        return 0;
    if (n->type != YAML_MAPPING_NODE)
        return fail(l, n, "%s: expected a map, found %s", what, kind_name(n));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(l, p->key), *v = node(l, p->value);
        if (!k || !v)
            return fail(l, n, "%s: malformed map", what);
        if (k->type != YAML_SCALAR_NODE)
            return fail(l, k, "%s: expected a key, found %s", what, kind_name(k));
        size_t i;
        for (i = 0; i < nk; i++)
            if (strcmp(keys[i], sval(k)) == 0)
                break;
        if (i == nk) {
            char list[256] = "";
            for (size_t j = 0; j < nk; j++)
                snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", j ? ", " : "",
                         keys[j]);
            return fail(l, k, "%s: unknown key \"%s\" (expected one of: %s)", what, sval(k), list);
        }
        if (vals[i])
            return fail(l, k, "%s: key \"%s\" given twice", what, sval(k));
        vals[i] = v;
    }
    return 0;
}

/* The items of list node n (count in *cnt; none for a null value). */
static int get_seq(ld_t *l, const yaml_node_t *n, const char *what, yaml_node_item_t **items,
                   size_t *cnt, size_t max)
{
    *cnt = 0;
    *items = NULL;
    if (!n || is_null(n))
        return 0;
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(l, n, "%s: expected a list, found %s", what, kind_name(n));
    *items = n->data.sequence.items.start;
    *cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (*cnt > max)
        return fail(l, n, "%s: %zu entries, at most %zu allowed", what, *cnt, max);
    return 0;
}

/* ---- formatter --------------------------------------------------------------- */

static int load_protobuf(ld_t *l, yaml_node_t *n)
{
    static const char *const keys[] = {"name", "index", "type", "array", NULL};
    yaml_node_item_t *it;
    size_t cnt;
    fc_mapping_t *m = l->m;

    if (get_seq(l, n, "formatter.protobuf", &it, &cnt, FC_FORMAT_MAX_CUSTOM) < 0)
        return -1;
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *e = node(l, it[i]), *v[4];
        const char *name, *type;
        uint64_t index;
        bool array = false;
        if (!e || get_map(l, e, "formatter.protobuf entry", keys, v) < 0)
            return -1;
        if (!v[0] || !v[1] || !v[2])
            return fail(l, e, "formatter.protobuf entry: name, index and type are required");
        if (get_str(l, v[0], "name", &name) < 0 ||
            get_uint(l, v[1], "index", (1u << 29) - 1, &index) < 0 ||
            get_str(l, v[2], "type", &type) < 0 || (v[3] && get_bool(l, v[3], "array", &array) < 0))
            return -1;
        if (index == 0 || (index >= 19000 && index <= 19999))
            return fail(l, v[1],
                        "index %llu: protobuf field numbers are 1..536870911 without "
                        "19000..19999 (reserved)",
                        (unsigned long long)index);
        for (unsigned c = 0; c < FC_NCOLUMNS; c++)
            if (fc_columns[c].pb == index)
                return fail(l, v[1], "index %llu is flow.proto's field %s",
                            (unsigned long long)index, fc_columns[c].name);
        for (unsigned c = 0; c < m->ncust; c++)
            if (m->cust[c].pb == index)
                return fail(l, v[1], "index %llu is given to two custom fields",
                            (unsigned long long)index);
        fc_ctype_t t;
        if (!strcmp(type, "varint"))
            t = FC_CT_VARINT;
        else if (!strcmp(type, "string"))
            t = FC_CT_STRING;
        else if (!strcmp(type, "bytes"))
            t = FC_CT_BYTES;
        else
            return fail(l, v[2], "type \"%s\": expected varint, string or bytes", type);
        if (fc_column_find(name) >= 0)
            return fail(l, v[0],
                        "name \"%s\" is a flow.proto field: custom fields need names of "
                        "their own",
                        name);
        int id = fc_format_add_custom(m->fmt, name, (uint32_t)index, t, array);
        if (id == -EEXIST)
            return fail(l, v[0], "custom field \"%s\" is declared twice", name);
        if (id < 0)
            return fail(l, v[0], "custom field \"%s\": %s", name,
                        id == -EINVAL ? "empty or longer than 128 bytes" : strerror(-id));
        m->cust[id] = (cust_t){(uint32_t)index, (uint8_t)t, array};
        m->ncust = (unsigned)id + 1;
    }
    return 0;
}

static int load_render(ld_t *l, yaml_node_t *n)
{
    if (!n || is_null(n))
        return 0;
    if (n->type != YAML_MAPPING_NODE)
        return fail(l, n, "formatter.render: expected a map, found %s", kind_name(n));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(l, p->key), *v = node(l, p->value);
        const char *name, *r;
        if (!k || !v || get_str(l, k, "formatter.render key", &name) < 0 ||
            get_str(l, v, "formatter.render value", &r) < 0)
            return -1;
        for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++)
            if (!strcmp(sval(node(l, q->key)), name))
                return fail(l, k, "formatter.render: \"%s\" given twice", name);
        int ri = fc_render_find(r);
        if (ri < 0)
            return fail(l, v,
                        "\"%s\" is not a renderer (expected none, ip, mac, etype, proto, "
                        "datetime, datetimenano, string, network or icmp)",
                        r);
        int rc = fc_format_set_render(l->m->fmt, name, (fc_render_t)ri);
        if (rc < 0)
            return fail(l, k, "formatter.render \"%s\": %s", name,
                        rc == -ENOSPC ? "too many virtual fields" : "bad name");
    }
    return 0;
}

/* A name formatter.fields/rename may use: a proto name, a custom field, or a rendered name. */
static bool known_field(const fc_mapping_t *m, const char *name)
{
    for (unsigned c = 0; c < FC_NCOLUMNS; c++)
        if (!strcmp(fc_columns[c].name, name))
            return true;
    return fc_format_custom_find(m->fmt, name) >= 0;
}

/* Whether `name` is a key of formatter.render (a virtual field then). */
static bool rendered(ld_t *l, yaml_node_t *render, const char *name)
{
    if (!render || render->type != YAML_MAPPING_NODE)
        return false;
    for (yaml_node_pair_t *p = render->data.mapping.pairs.start; p < render->data.mapping.pairs.top;
         p++)
        if (!strcmp(sval(node(l, p->key)), name))
            return true;
    return false;
}

static int load_rename(ld_t *l, yaml_node_t *n, yaml_node_t *render)
{
    if (!n || is_null(n))
        return 0;
    if (n->type != YAML_MAPPING_NODE)
        return fail(l, n, "formatter.rename: expected a map, found %s", kind_name(n));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(l, p->key), *v = node(l, p->value);
        const char *name, *out;
        if (!k || !v || get_str(l, k, "formatter.rename key", &name) < 0 ||
            get_str(l, v, "formatter.rename value", &out) < 0)
            return -1;
        for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++)
            if (!strcmp(sval(node(l, q->key)), name))
                return fail(l, k, "formatter.rename: \"%s\" given twice", name);
        if (!known_field(l->m, name) && !rendered(l, render, name) && strcmp(name, "icmp_name"))
            return fail(l, k,
                        "formatter.rename: \"%s\" is not a flow.proto field (snake_case), a "
                        "formatter.protobuf field, nor a virtual field with a renderer",
                        name);
        int rc = fc_format_set_rename(l->m->fmt, name, out);
        if (rc < 0)
            return fail(l, v, "formatter.rename \"%s\": %s", name,
                        rc == -EINVAL ? "empty or longer than 128 bytes" : strerror(-rc));
    }
    return 0;
}

static int load_fields(ld_t *l, yaml_node_t *n)
{
    yaml_node_item_t *it;
    size_t cnt;
    if (get_seq(l, n, "formatter.fields", &it, &cnt, FC_FORMAT_MAX_FIELDS) < 0)
        return -1;
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *e = node(l, it[i]);
        const char *name;
        if (!e || get_str(l, e, "formatter.fields entry", &name) < 0)
            return -1;
        int rc = fc_format_add_field(l->m->fmt, name);
        if (rc == -ENOENT)
            return fail(l, e,
                        "field \"%s\" is not a flow.proto field (snake_case), a "
                        "formatter.protobuf field, nor a virtual field with a renderer",
                        name);
        if (rc < 0)
            return fail(l, e, "field \"%s\": %s", name, strerror(-rc));
    }
    return 0;
}

static int load_key(ld_t *l, yaml_node_t *n)
{
    yaml_node_item_t *it;
    size_t cnt;
    fc_mapping_t *m = l->m;
    if (get_seq(l, n, "formatter.key", &it, &cnt, FC_MAPPING_MAX_KEYS) < 0)
        return -1;
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *e = node(l, it[i]);
        const char *name;
        if (!e || get_str(l, e, "formatter.key entry", &name) < 0)
            return -1;
        int col = fc_column_find(name), cust = fc_format_custom_find(m->fmt, name);
        if ((col < 0 || fc_columns[col].kind == FC_K_VIRTUAL || !fc_columns[col].pb) && cust < 0)
            return fail(l, e,
                        "key field \"%s\" does not exist (expected a flow.proto field or a "
                        "formatter.protobuf field)",
                        name);
        char *dup = strdup(name);
        if (!dup)
            return fail(l, e, "out of memory");
        m->keyname[m->nkey] = dup;
        m->key[m->nkey] = (fc_mapkey_t){dup, (int16_t)(cust >= 0 ? -1 : col), (int16_t)cust};
        m->nkey++;
    }
    return 0;
}

static int load_formatter(ld_t *l, yaml_node_t *n)
{
    static const char *const keys[] = {"fields", "key", "render", "rename", "protobuf", NULL};
    yaml_node_t *v[5];
    if (get_map(l, n, "formatter", keys, v) < 0)
        return -1;
    /* protobuf first (render, rename, fields and key name its fields), then
     * render (virtual fields exist by their renderer), rename, fields */
    return load_protobuf(l, v[4]) < 0 || load_render(l, v[2]) < 0 ||
                   load_rename(l, v[3], v[2]) < 0 || load_fields(l, v[0]) < 0 ||
                   load_key(l, v[1]) < 0
               ? -1
               : 0;
}

/* ---- decoder mappings ------------------------------------------------------------ */

/* The destination called `name`: a column that can hold a decoded value, or a custom field. */
static int get_dest(ld_t *l, yaml_node_t *n, dest_t *d)
{
    const char *name = NULL; /* gcc -O3 cannot see get_str set it */
    if (!n)
        return fail(l, NULL, "a mapping entry has no destination");
    if (get_str(l, n, "destination", &name) < 0)
        return -1;
    int col = fc_column_find(name), cust = fc_format_custom_find(l->m->fmt, name);
    d->col = -1;
    d->cust = (int16_t)cust;
    if (cust >= 0)
        return 0;
    if (col < 0)
        return fail(l, n,
                    "destination \"%s\" is neither a flow.proto field (snake_case or Go "
                    "name) nor a formatter.protobuf field",
                    name);
    const fc_column_t *c = &fc_columns[col];
    if (!c->pb || c->kind == FC_K_VIRTUAL || c->kind == FC_K_ENUM8)
        return fail(l, n, "destination \"%s\" cannot take a decoded value", name);
    d->col = (int16_t)col;
    return 0;
}

/* How many bits a destination can take: 64 for numbers, 32/128 for addresses, bytes fields more. */
static int check_bits(ld_t *l, yaml_node_t *n, const dest_t *d, uint64_t bits)
{
    if (d->cust >= 0 && l->m->cust[d->cust].type != FC_CT_VARINT) {
        if (bits > 8u * FC_CUSTOM_BYTES)
            return fail(l, n, "length %llu bits: a record keeps at most %u bytes of custom values",
                        (unsigned long long)bits, FC_CUSTOM_BYTES);
        return 0;
    }
    if (d->col >= 0 &&
        (fc_columns[d->col].kind == FC_K_ADDR || fc_columns[d->col].kind == FC_K_A_ADDR)) {
        if (bits != 32 && bits != 128)
            return fail(l, n, "length %llu bits: address destination %s takes 32 or 128",
                        (unsigned long long)bits, fc_columns[d->col].name);
        return 0;
    }
    if (bits > 64)
        return fail(l, n, "length %llu bits: a number takes at most 64", (unsigned long long)bits);
    return 0;
}

static int get_endian(ld_t *l, yaml_node_t *a, yaml_node_t *b, uint8_t *little)
{
    *little = 0;
    for (int i = 0; i < 2; i++) {
        yaml_node_t *n = i ? b : a;
        const char *s = NULL;
        if (!n)
            continue;
        if (get_str(l, n, i ? "endianness" : "endian", &s) < 0)
            return -1;
        uint8_t v;
        if (!strcmp(s, "big"))
            v = 0;
        else if (!strcmp(s, "little"))
            v = 1;
        else
            return fail(l, n, "%s \"%s\": expected big or little", i ? "endianness" : "endian", s);
        if (i && a && v != *little)
            return fail(l, n, "endian and endianness disagree");
        *little = v;
    }
    return 0;
}

static int load_nf(ld_t *l, yaml_node_t *n, int ipfix)
{
    static const char *const keys[] = {"mapping", NULL};
    static const char *const ekeys[] = {"field",  "destination", "penprovided", "pen",
                                        "endian", "endianness",  NULL};
    const char *sec = ipfix ? "ipfix" : "netflowv9";
    yaml_node_t *v[1];
    yaml_node_item_t *it;
    size_t cnt;
    fc_mapping_t *m = l->m;

    if (get_map(l, n, sec, keys, v) < 0 ||
        get_seq(l, v[0], ipfix ? "ipfix.mapping" : "netflowv9.mapping", &it, &cnt,
                FC_MAPPING_MAX_ENTRIES) < 0)
        return -1;
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *e = node(l, it[i]), *f[6];
        nfmap_t *x = &m->nf[ipfix][m->nnf[ipfix]];
        uint64_t field, pen = 0;
        bool penp = false;
        if (!e || get_map(l, e, "mapping entry", ekeys, f) < 0)
            return -1;
        if (!f[0])
            return fail(l, e, "mapping entry: field is required");
        if (!f[1])
            return fail(l, e, "mapping entry: destination is required");
        if (get_uint(l, f[0], "field", 65535, &field) < 0 || get_dest(l, f[1], &x->d) < 0 ||
            (f[2] && get_bool(l, f[2], "penprovided", &penp) < 0) ||
            (f[3] && get_uint(l, f[3], "pen", UINT32_MAX, &pen) < 0) ||
            get_endian(l, f[4], f[5], &x->little) < 0)
            return -1;
        if (!ipfix && (f[2] || f[3]))
            return fail(l, f[2] ? f[2] : f[3],
                        "netflowv9 fields have no enterprise number "
                        "(penprovided/pen are IPFIX only)");
        if (f[3] && !penp)
            return fail(l, f[3],
                        "pen is set but penprovided is not true (GoFlow2 would ignore it)");
        if (penp && !f[3])
            return fail(l, f[2], "penprovided is true but pen is missing");
        if (ipfix && (field & 0x8000))
            return fail(l, f[0],
                        "field %llu has the enterprise bit: give the element id "
                        "(field & 0x7fff) with penprovided and pen",
                        (unsigned long long)field);
        x->field = (uint16_t)field;
        x->pen = penp ? (uint32_t)pen : 0;
        m->nfbits[ipfix][field >> 6] |= (uint64_t)1 << (field & 63);
        m->nnf[ipfix]++;
    }
    return 0;
}

/* sflow.mapping layer names: flowkit's (GoFlow2's docs) and GoFlow2's code's, any case. */
static const struct {
    const char *name;
    uint8_t layer, filt;
    uint16_t fval;
} layers[] = {
    {"0", L_FRAME, F_NONE, 0},
    {"2", L_ETH, F_NONE, 0},
    {"ethernet", L_ETH, F_NONE, 0},
    {"dot1q", L_DOT1Q, F_NONE, 0},
    {"mpls", L_MPLS, F_NONE, 0},
    {"3", L_NET, F_NONE, 0},
    {"ip", L_NET, F_IP, 0},
    {"ipv4", L_NET, F_IPV4, 0},
    {"ipv6", L_NET, F_IPV6, 0},
    {"arp", L_NET, F_ETYPE, 0x0806},
    {"4", L_TRANSPORT, F_NONE, 0},
    {"tcp", L_TRANSPORT, F_PROTO, 6},
    {"udp", L_TRANSPORT, F_PROTO, 17},
    {"icmp", L_TRANSPORT, F_PROTO, 1},
    {"icmp6", L_TRANSPORT, F_PROTO, 58},
    {"icmpv6", L_TRANSPORT, F_PROTO, 58},
    {"ipv6-icmp", L_TRANSPORT, F_PROTO, 58},
    {"7", L_APP, F_NONE, 0},
};

static int get_layer(ld_t *l, yaml_node_t *n, pktmap_t *x)
{
    const char *s;
    if (get_str(l, n, "layer", &s) < 0)
        return -1;
    for (size_t i = 0; i < sizeof(layers) / sizeof(layers[0]); i++)
        if (!strcasecmp(layers[i].name, s)) {
            x->layer = layers[i].layer;
            x->filt = layers[i].filt;
            x->fval = layers[i].fval;
            return 0;
        }
    /* GoFlow2's dynamic keys: etype<dec>, etype0x<hex>, proto<dec> */
    char *end;
    unsigned long v;
    if (!strncasecmp(s, "etype", 5) && s[5]) {
        errno = 0;
        v = strtoul(s + 5, &end, (s[5] == '0' && (s[6] == 'x' || s[6] == 'X')) ? 16 : 10);
        if (!*end && !errno && v <= 0xffff && s[5] != '-' && s[5] != '+' && s[5] != ' ') {
            x->layer = L_NET;
            x->filt = F_ETYPE;
            x->fval = (uint16_t)v;
            return 0;
        }
    }
    if (!strncasecmp(s, "proto", 5) && s[5] >= '0' && s[5] <= '9') {
        errno = 0;
        v = strtoul(s + 5, &end, 10);
        if (!*end && !errno && v <= 255) {
            x->layer = L_TRANSPORT;
            x->filt = F_PROTO;
            x->fval = (uint16_t)v;
            return 0;
        }
    }
    return fail(l, n,
                "layer \"%s\": flowkit knows 0, 2/ethernet, dot1q, mpls, 3/ip/ipv4/ipv6/arp, "
                "etype<N>, 4/tcp/udp/icmp/icmp6/icmpv6/ipv6-icmp, proto<N>, 7 (GoFlow2's "
                "ipv6eh, gre, teredo, geneve and port layers are not implemented)",
                s);
}

static const char *const port_parsers[] = {
    "ethernet", "dot1q", "mpls",      "ipv4", "ipv6",       "ipv6-route", "ipv6-frag", "tcp",
    "udp",      "icmp",  "ipv6-icmp", "gre",  "teredo-dst", "geneve",     NULL};

static int load_ports(ld_t *l, yaml_node_t *n)
{
    static const char *const keys[] = {"proto", "dir", "port", "parser", NULL};
    yaml_node_item_t *it;
    size_t cnt;
    if (get_seq(l, n, "sflow.ports", &it, &cnt, FC_MAPPING_MAX_PORTS) < 0)
        return -1;
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *e = node(l, it[i]), *v[4];
        const char *proto, *dir, *parser;
        uint64_t port;
        if (!e || get_map(l, e, "sflow.ports entry", keys, v) < 0)
            return -1;
        if (!v[0] || !v[1] || !v[2] || !v[3])
            return fail(l, e, "sflow.ports entry: proto, dir, port and parser are required");
        if (get_str(l, v[0], "proto", &proto) < 0 || get_str(l, v[1], "dir", &dir) < 0 ||
            get_uint(l, v[2], "port", 65535, &port) < 0 || get_str(l, v[3], "parser", &parser) < 0)
            return -1;
        if (strcmp(proto, "udp") && strcmp(proto, "tcp"))
            return fail(l, v[0], "proto \"%s\": expected udp or tcp", proto);
        if (strcmp(dir, "src") && strcmp(dir, "dst") && strcmp(dir, "both"))
            return fail(l, v[1], "dir \"%s\": expected src, dst or both", dir);
        size_t k;
        for (k = 0; port_parsers[k]; k++)
            if (!strcmp(port_parsers[k], parser))
                break;
        if (!port_parsers[k])
            return fail(l, v[3], "parser \"%s\" is not one of GoFlow2's packet parsers", parser);
        l->m->nports++;
    }
    return 0;
}

static int load_sflow(ld_t *l, yaml_node_t *n)
{
    static const char *const keys[] = {"mapping", "ports", NULL};
    static const char *const ekeys[] = {"layer",  "encap",      "offset",      "length",
                                        "endian", "endianness", "destination", NULL};
    yaml_node_t *v[2];
    yaml_node_item_t *it;
    size_t cnt;
    fc_mapping_t *m = l->m;

    if (get_map(l, n, "sflow", keys, v) < 0 ||
        get_seq(l, v[0], "sflow.mapping", &it, &cnt, FC_MAPPING_MAX_ENTRIES) < 0)
        return -1;
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_t *e = node(l, it[i]), *f[7];
        pktmap_t *x = &m->pkt[m->npkt];
        uint64_t off = 0, len = 0;
        bool encap = false;
        if (!e || get_map(l, e, "sflow.mapping entry", ekeys, f) < 0)
            return -1;
        if (!f[0] || !f[3] || !f[6])
            return fail(l, e, "sflow.mapping entry: layer, length and destination are required");
        if (get_layer(l, f[0], x) < 0 || (f[1] && get_bool(l, f[1], "encap", &encap) < 0) ||
            (f[2] && get_uint(l, f[2], "offset", UINT32_MAX, &off) < 0) ||
            get_uint(l, f[3], "length", UINT32_MAX, &len) < 0 ||
            get_endian(l, f[4], f[5], &x->little) < 0 || get_dest(l, f[6], &x->d) < 0)
            return -1;
        if (encap)
            return fail(l, f[1], "encap: true (values inside tunnels) is not implemented");
        if (len == 0)
            return fail(l, f[3], "length 0: nothing to extract");
        if (check_bits(l, f[3], &x->d, len) < 0)
            return -1;
        x->offset = (uint32_t)off;
        x->length = (uint32_t)len;
        m->npkt++;
    }
    return load_ports(l, v[1]);
}

/* ---- decoder mappings: entries for destinations declared in formatter.protobuf
 * need the formatter first, so the top level is read in two passes ----------- */

static int load_top(ld_t *l)
{
    static const char *const keys[] = {"formatter", "ipfix", "netflowv9", "sflow", NULL};
    yaml_node_t *root = yaml_document_get_root_node(&l->doc), *v[4];
    if (!root) /* an empty file: GoFlow2's defaults */
        return 0;
    if (get_map(l, root, "the file", keys, v) < 0)
        return -1;
    if (v[0] && load_formatter(l, v[0]) < 0)
        return -1;
    if (v[1] && load_nf(l, v[1], 1) < 0)
        return -1;
    if (v[2] && load_nf(l, v[2], 0) < 0)
        return -1;
    if (v[3] && load_sflow(l, v[3]) < 0)
        return -1;
    return 0;
}

fc_mapping_t *fc_mapping_parse(const char *text, size_t len, const char *name, fk_err_t *e)
{
    yaml_parser_t p;
    ld_t l;
    fc_mapping_t *m = calloc(1, sizeof(*m));

    memset(&l, 0, sizeof(l));
    l.name = name ? name : "mapping";
    l.e = e;
    l.m = m;
    if (!m || !(m->fmt = fc_format_new())) {
        fk_errf(e, "%s: out of memory", l.name);
        fc_mapping_free(m);
        return NULL;
    }
    if (len > FC_MAPPING_MAX_BYTES) {
        fk_errf(e, "%s: %zu bytes, at most %u allowed", l.name, len, FC_MAPPING_MAX_BYTES);
        fc_mapping_free(m);
        return NULL;
    }
    if (!yaml_parser_initialize(&p)) {
        fk_errf(e, "%s: out of memory", l.name);
        fc_mapping_free(m);
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, &l.doc)) {
        fk_errf(e, "%s:%lu:%lu: YAML: %s%s%s", l.name, (unsigned long)p.problem_mark.line + 1,
                (unsigned long)p.problem_mark.column + 1, p.problem ? p.problem : "syntax error",
                p.context ? " " : "", p.context ? p.context : "");
        yaml_parser_delete(&p);
        fc_mapping_free(m);
        return NULL;
    }
    int rc = load_top(&l);
    /* One document only: a second one would be silently ignored otherwise. */
    if (rc == 0 && yaml_document_get_root_node(&l.doc)) {
        yaml_document_t next;
        if (!yaml_parser_load(&p, &next)) {
            rc = fail(&l, NULL, "YAML: %s", p.problem ? p.problem : "syntax error");
        } else {
            if (yaml_document_get_root_node(&next))
                rc = fail(&l, yaml_document_get_root_node(&next),
                          "a second YAML document: the mapping is one document");
            yaml_document_delete(&next);
        }
    }
    yaml_document_delete(&l.doc);
    yaml_parser_delete(&p);
    if (rc < 0) {
        fc_mapping_free(m);
        return NULL;
    }
    return m;
}

fc_mapping_t *fc_mapping_load(const char *path, fk_err_t *e)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fk_errf(e, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(FC_MAPPING_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, FC_MAPPING_MAX_BYTES + 1, fp) : 0;
    int err = ferror(fp);
    fclose(fp);
    if (!buf || err) {
        free(buf);
        fk_errf(e, "%s: %s", path, buf ? "read error" : "out of memory");
        return NULL;
    }
    fc_mapping_t *m = fc_mapping_parse(buf, n, path, e);
    free(buf);
    return m;
}

void fc_mapping_free(fc_mapping_t *m)
{
    if (!m)
        return;
    for (unsigned i = 0; i < m->nkey; i++)
        free(m->keyname[i]);
    fc_format_free(m->fmt);
    free(m);
}

const fc_format_t *fc_mapping_format(const fc_mapping_t *m)
{
    return m ? m->fmt : NULL;
}

size_t fc_mapping_keys(const fc_mapping_t *m, const fc_mapkey_t **keys)
{
    *keys = m ? m->key : NULL;
    return m ? m->nkey : 0;
}

size_t fc_mapping_ports(const fc_mapping_t *m)
{
    return m ? m->nports : 0;
}

uint64_t fc_mapping_skipped(const fc_mapping_t *m)
{
    return m ? __atomic_load_n(&m->skipped, __ATOMIC_RELAXED) : 0;
}

void fc_mapping_use(const fc_mapping_t *m)
{
    fc__mapping_active = m;
}

bool fc_mapping_has_packet(const fc_mapping_t *m)
{
    return m && m->npkt;
}

/* ---- applying ------------------------------------------------------------------ */

static void skip(const fc_mapping_t *m)
{
    __atomic_fetch_add(&((fc_mapping_t *)(uintptr_t)m)->skipped, 1, __ATOMIC_RELAXED);
}

int fc_custom_put(fc_flow_t *f, unsigned field, uint32_t pb, bool array, uint64_t u,
                  const uint8_t *bytes, size_t len)
{
    fc_cval_t *v = NULL;
    unsigned n = f->n_custom < FC_MAX_CUSTOM ? f->n_custom : FC_MAX_CUSTOM;

    if (!array)
        for (unsigned k = 0; k < n && !v; k++)
            if (f->custom[k].field == field)
                v = &f->custom[k];
    if (bytes && (len > FC_CUSTOM_BYTES || f->n_cbytes > FC_CUSTOM_BYTES - len)) {
        f->truncated_lists++;
        return -1;
    }
    if (!v) {
        if (n >= FC_MAX_CUSTOM) {
            f->truncated_lists++;
            return -1;
        }
        v = &f->custom[n];
        f->n_custom = (uint8_t)(n + 1);
    }
    v->field = (uint8_t)field;
    v->pb = pb;
    v->bytes = bytes != NULL;
    v->u = bytes ? 0 : u;
    v->off = v->len = 0;
    if (bytes) {
        v->off = f->n_cbytes;
        v->len = (uint8_t)len;
        memcpy(f->cbytes + f->n_cbytes, bytes, len);
        f->n_cbytes = (uint8_t)(f->n_cbytes + len);
    }
    return 0;
}

/* The value bytes as an unsigned number (GoFlow2 reflect.go: big-endian, or little). */
static uint64_t to_uint(const uint8_t *v, size_t len, bool little)
{
    uint64_t u = 0;
    for (size_t i = 0; i < len; i++)
        u = u << 8 | v[little ? len - 1 - i : i];
    return u;
}

/* Store `len` value bytes (a number of up to 8 bytes for number destinations) into d. */
static void store(const fc_mapping_t *m, fc_flow_t *f, const dest_t *d, const uint8_t *v,
                  size_t len, bool little, bool *rate)
{
    if (d->cust >= 0) {
        const cust_t *c = &m->cust[d->cust];
        if (c->type == FC_CT_VARINT) {
            if (len == 0 || len > 8) {
                skip(m);
                return;
            }
            fc_custom_put(f, (unsigned)d->cust, c->pb, c->array, to_uint(v, len, little), NULL, 0);
        } else {
            fc_custom_put(f, (unsigned)d->cust, c->pb, c->array, 0, v, len);
        }
        return;
    }
    const fc_column_t *c = &fc_columns[d->col];
    char *base = (char *)f;
    if (c->kind == FC_K_ADDR || c->kind == FC_K_A_ADDR) {
        if (len != 4 && len != 16) {
            skip(m);
            return;
        }
        fc_addr_t a;
        memset(&a, 0, sizeof(a));
        a.len = (uint8_t)len;
        memcpy(a.a, v, len);
        if (c->kind == FC_K_ADDR) {
            memcpy(base + c->off, &a, sizeof(a));
            return;
        }
        uint16_t cnt;
        memcpy(&cnt, base + c->cnt_off, 2);
        if (cnt >= c->cap) {
            f->truncated_lists++;
            return;
        }
        memcpy(base + c->off + cnt * sizeof(fc_addr_t), &a, sizeof(a));
        cnt++;
        memcpy(base + c->cnt_off, &cnt, 2);
        return;
    }
    if (len == 0 || len > 8) {
        skip(m);
        return;
    }
    uint64_t u = to_uint(v, len, little);
    switch (c->kind) {
    case FC_K_U64: {
        memcpy(base + c->off, &u, 8);
        if (c->off == offsetof(fc_flow_t, sampling_rate) && rate)
            *rate = true; /* options data must not overwrite it (GoFlow2 quirk 3) */
        return;
    }
    case FC_K_U32: {
        uint32_t x = (uint32_t)u;
        memcpy(base + c->off, &x, 4);
        return;
    }
    case FC_K_A_U32:
    case FC_K_A_ENUM: {
        uint16_t cnt;
        uint32_t x = (uint32_t)u;
        memcpy(&cnt, base + c->cnt_off, 2);
        if (cnt >= c->cap) {
            f->truncated_lists++;
            return;
        }
        memcpy(base + c->off + cnt * 4u, &x, 4);
        cnt++;
        memcpy(base + c->cnt_off, &cnt, 2);
        return;
    }
    default:
        return; /* get_dest refused the other kinds */
    }
}

int fc_mapping_nf(const fc_mapping_t *m, fc_flow_t *f, int version, uint32_t pen, uint16_t id,
                  const uint8_t *v, size_t len, bool *rate)
{
    int ipfix = version == 10, hits = 0;
    if (!m || !(m->nfbits[ipfix][id >> 6] >> (id & 63) & 1))
        return 0;
    for (unsigned i = 0; i < m->nnf[ipfix]; i++) {
        const nfmap_t *x = &m->nf[ipfix][i];
        if (x->field != id || x->pen != pen)
            continue;
        store(m, f, &x->d, v, len, x->little, rate);
        hits++;
    }
    return hits;
}

/* Where layer x starts in pkt (bytes), or -1 when the packet does not have it. */
static int64_t layer_start(const pktmap_t *x, const fk_packet_t *pkt)
{
    /* the end of the link header: Ethernet, its 802.1Q tags and MPLS stack */
    uint32_t l2end = pkt->has_mac ? 14u + 4u * pkt->vlan_count + 4u * pkt->mpls_count : 0;
    switch (x->filt) {
    case F_IPV4:
        if (pkt->ip_version != 4)
            return -1;
        break;
    case F_IPV6:
        if (pkt->ip_version != 6)
            return -1;
        break;
    case F_IP:
        if (!pkt->ip_version)
            return -1;
        break;
    case F_ETYPE:
        if (pkt->ethertype != x->fval)
            return -1;
        break;
    case F_PROTO:
        if (!pkt->ip_version || pkt->ip_proto != x->fval)
            return -1;
        break;
    default:
        break;
    }
    switch (x->layer) {
    case L_FRAME:
        return 0;
    case L_ETH:
        return pkt->has_mac ? 0 : -1;
    case L_DOT1Q:
        return pkt->has_mac && pkt->vlan_count ? 14 : -1;
    case L_MPLS:
        return pkt->has_mac && pkt->mpls_count ? 14 + 4 * (int64_t)pkt->vlan_count : -1;
    case L_NET:
        if (pkt->ip_version)
            return pkt->l3_off;
        return pkt->has_mac && pkt->ethertype ? (int64_t)l2end : -1; /* ARP, other etypes */
    case L_TRANSPORT:
        return pkt->ip_version && pkt->layer_ok >= FK_LAYER_L4 ? (int64_t)pkt->l4_off : -1;
    case L_APP:
        return pkt->payload ? (int64_t)(pkt->payload - pkt->frame) : -1;
    default:
        return -1;
    }
}

/*
 * GoFlow2's GetBytes(pkt, start, length, shift=true): `nbits` bits from bit
 * `start` of p, right-aligned in ceil(nbits/8) bytes.  Returns that byte
 * count, or 0 when the bits are not all inside the `len` bytes (GoFlow2
 * zero-pads; flowkit counts and skips instead, STYLE rule 2).
 */
static size_t get_bits(const uint8_t *p, size_t len, uint64_t start, uint32_t nbits, uint8_t *out)
{
    size_t nb = (nbits + 7) / 8;
    if (nbits == 0 || start > (uint64_t)len * 8 || nbits > (uint64_t)len * 8 - start)
        return 0;
    if ((start & 7) == 0 && (nbits & 7) == 0) {
        memcpy(out, p + start / 8, nb);
        return nb;
    }
    memset(out, 0, nb);
    uint32_t pad = (uint32_t)(nb * 8 - nbits); /* leading zero bits of the result */
    for (uint32_t k = 0; k < nbits; k++) {
        uint64_t b = start + k;
        if (p[b >> 3] >> (7 - (b & 7)) & 1) {
            uint32_t o = pad + k;
            out[o >> 3] |= (uint8_t)(0x80 >> (o & 7));
        }
    }
    return nb;
}

void fc_mapping_packet(const fc_mapping_t *m, fc_flow_t *f, const struct fk_packet_st *pkt)
{
    uint8_t buf[FC_CUSTOM_BYTES];
    if (!m || !pkt || !pkt->frame)
        return;
    for (unsigned i = 0; i < m->npkt; i++) {
        const pktmap_t *x = &m->pkt[i];
        int64_t at = layer_start(x, pkt);
        if (at < 0 || (uint64_t)at > pkt->caplen)
            continue; /* not this packet's layers: not an error */
        size_t n = get_bits(pkt->frame, pkt->caplen, (uint64_t)at * 8 + x->offset, x->length, buf);
        if (!n) {
            skip(m);
            continue;
        }
        store(m, f, &x->d, buf, n, x->little, NULL);
    }
}
