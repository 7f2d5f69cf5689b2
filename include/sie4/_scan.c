/* inspect's chunk scan in C: the same findings as summary._scan_chunk (numpy), in one pass.
 *
 * Plain C, no Python API: summary.py calls scan_chunk through ctypes (which releases the
 * GIL) with a Scan whose arrays it has sized. The grammar, the line classes and every
 * reason to fall back are those of summary.py's docstring and _Scan class; where the
 * numpy scanner raises Fallback this returns SCAN_FALLBACK (for the whole chunk), and
 * where it accepts, this writes the same numbers. Object lists are only found here (each
 * distinct one once); the caller has the lexer vouch for them, as the numpy scanner does.
 *
 * Built by `make venv` with -DSCAN_SOURCE_HASH set to this file's sha256: the loader uses
 * the library only if that matches the source next to it (no stale build).
 */
#include <stdint.h>
#include <string.h>

#ifndef SCAN_SOURCE_HASH
#define SCAN_SOURCE_HASH ""
#endif

const char *scan_source_hash(void) { return SCAN_SOURCE_HASH; }

enum { BLANK, HEADER, VER, OPEN, ROW, CLOSE };    /* line classes, as in summary.py */
enum { SCAN_OK, SCAN_FALLBACK, SCAN_FULL };       /* FULL: call again with bigger tables */

typedef struct {
    /* In: whole lines; without a final LF the last bytes are a line only if final. */
    const uint8_t *data;
    int64_t size, final;
    int64_t line_cap;   /* rows of every array below but dates (the chunk's LF count + 1) */
    int64_t date_cap;   /* of dates */
    int64_t table_size; /* slots of each hash table, a power of two */
    /* Out: the LF count and how many of each finding. */
    int64_t lines, n_classes, n_header, n_ver, n_rows, n_dates, n_lists;
    int8_t *classes;  /* of the non-blank lines */
    int64_t *header;  /* (line index, start, end before the LF) per header line */
    int64_t *ver;     /* (line index, start) per #VER line */
    int32_t *row_line;
    int8_t *row_kind; /* 0 TRANS, 1 RTRANS, 2 BTRANS */
    int64_t *row_ore;
    int8_t *row_decimals;
    int32_t *row_key;     /* account number * 8 + digit count */
    int64_t *dates;       /* distinct YYYYMMDD (month and day checked, not the calendar) */
    int64_t *lists;       /* (start, length) of each distinct non-empty object list */
    int64_t *date_table;  /* scratch, cleared here: 0 is a free slot */
    int32_t *list_table;  /* scratch, cleared here: list index + 1, 0 is a free slot */
    int64_t full;         /* set when a table or array would overflow */
} Scan;

typedef const uint8_t *Ptr; /* NULL from a field reader: fall back */

static int is_sep(uint8_t c) { return c == ' ' || c == '\t'; }
static int is_trim(uint8_t c) { return c == ' ' || c == '\t' || c == '\r'; }
static int is_digit(uint8_t c) { return (uint8_t)(c - '0') < 10; }

/* What may follow a label (a label is the first token only); at the line's end too. */
static int label_end(Ptr p, Ptr line_end) {
    return p == line_end || is_trim(*p) || *p == '{' || *p == '}';
}

/* The next field's start after a field that stops at p: spaces or tabs must follow.
 * The line is stripped, so a field follows them before `end`. */
static Ptr separated(Ptr p, Ptr end) {
    if (!p || p >= end || !is_sep(*p)) return NULL;
    do p++; while (*p <= ' ');
    return p;
}

/* A bare word: up to a space, tab or the end; a quote or brace there is refused later. */
static Ptr bare(Ptr p, Ptr end) {
    Ptr q = p;
    while (q < end && *q > ' ' && *q != '"' && *q != '{' && *q != '}') q++;
    return q == p ? NULL : q;
}

/* A quoted text: past the first quote not after a backslash, on its line. */
static Ptr quoted(Ptr p, Ptr end) {
    for (Ptr q = p + 1; (q = memchr(q, '"', (size_t)(end - q))); q++)
        if (q[-1] != '\\') return q + 1;
    return NULL; /* not closed on its line (a warning) */
}

static Ptr text(Ptr p, Ptr end) { return *p == '"' ? quoted(p, end) : bare(p, end); }

static int add_date(Scan *s, int64_t v) {
    int64_t month = v / 100 % 100, day = v % 100;
    if (month < 1 || month > 12 || day < 1 || day > 31) return 0; /* no date: an error */
    uint64_t mask = (uint64_t)s->table_size - 1;
    uint64_t h = ((uint64_t)v * 0x9E3779B97F4A7C15u) >> 32 & mask;
    for (; s->date_table[h]; h = (h + 1) & mask)
        if (s->date_table[h] == v) return 1;
    if (2 * (s->n_dates + 1) > s->table_size || s->n_dates >= s->date_cap) {
        s->full = 1;
        return 0;
    }
    s->date_table[h] = v;
    s->dates[s->n_dates++] = v;
    return 1;
}

/* YYYYMMDD, or "" where optional. */
static Ptr date(Scan *s, Ptr p, Ptr end, int optional) {
    if (end - p >= 8) {
        int64_t v = 0;
        int i = 0;
        for (; i < 8 && is_digit(p[i]); i++) v = v * 10 + (p[i] - '0');
        if (i == 8) return add_date(s, v) ? p + 8 : NULL;
    }
    if (optional && end - p >= 2 && p[0] == '"' && p[1] == '"') return p + 2;
    return NULL;
}

/* 1-6 bare digits: the account key, number * 8 + digit count. */
static Ptr account(Ptr p, Ptr end, int32_t *key) {
    int32_t value = 0;
    Ptr q = p;
    for (; q < end && is_digit(*q) && q - p < 7; q++) value = value * 10 + (*q - '0');
    if (q == p || q - p > 6) return NULL;
    *key = value * 8 + (int32_t)(q - p);
    return q;
}

/* Each distinct list once: equal lists are equal bytes. */
static int add_list(Scan *s, Ptr p, int64_t length) {
    uint64_t h = 0xCBF29CE484222325u; /* FNV-1a */
    for (int64_t i = 0; i < length; i++) h = (h ^ p[i]) * 0x100000001B3u;
    uint64_t mask = (uint64_t)s->table_size - 1;
    for (h &= mask; s->list_table[h]; h = (h + 1) & mask) {
        const int64_t *known = s->lists + 2 * (s->list_table[h] - 1);
        if (known[1] == length && memcmp(s->data + known[0], p, (size_t)length) == 0) return 1;
    }
    if (2 * (s->n_lists + 1) > s->table_size || s->n_lists >= s->line_cap) {
        s->full = 1;
        return 0;
    }
    s->lists[2 * s->n_lists] = p - s->data;
    s->lists[2 * s->n_lists + 1] = length;
    s->list_table[h] = (int32_t)++s->n_lists;
    return 1;
}

/* {...} up to its first '}' on the line; {} needs no lexer. */
static Ptr object_list(Scan *s, Ptr p, Ptr end) {
    if (*p != '{') return NULL; /* no object list (a warning) */
    if (end - p >= 2 && p[1] == '}') return p + 2;
    Ptr close = memchr(p + 1, '}', (size_t)(end - p - 1));
    if (!close) return NULL; /* not closed on its line */
    return add_list(s, p, close + 1 - p) ? close + 1 : NULL;
}

/* -?digits[.d[d]], at most 16 integer digits: öre and the decimals as written. The
 * decimals are found as numpy finds them: a '.' two or three bytes before the end. */
static Ptr amount(Ptr p, Ptr end, int64_t *ore, int8_t *decimals) {
    Ptr stop = p;
    while (stop < end && *stop > ' ') stop++;
    if (stop - p > 20) return NULL;
    int places = stop[-3] == '.' ? 2 : stop[-2] == '.' ? 1 : 0;
    Ptr dot = places ? stop - places - 1 : stop;
    int negative = *p == '-';
    Ptr digit = p + negative;
    if (dot - digit < 1 || dot - digit > 16) return NULL;
    int64_t value = 0;
    for (; digit < dot; digit++) {
        if (!is_digit(*digit)) return NULL;
        value = value * 10 + (*digit - '0');
    }
    value *= 100;
    for (int i = 1; i <= places; i++) {
        if (!is_digit(dot[i])) return NULL;
        value += (dot[i] - '0') * (i == 1 ? 10 : 1);
    }
    *ore = negative ? -value : value;
    *decimals = (int8_t)places;
    return stop;
}

/* -?digits[.d{1,8}] with at most 10 integer digits, or "". Checked, not kept. */
static Ptr quantity(Ptr p, Ptr end) {
    if (end - p >= 2 && p[0] == '"' && p[1] == '"') return p + 2;
    Ptr stop = p, dot = NULL;
    for (; stop < end && *stop > ' '; stop++)
        if (*stop == '.' && !dot) dot = stop;
    int negative = *p == '-';
    Ptr integer_end = dot ? dot : stop;
    if (stop - p > 20 || integer_end - p - negative < 1 || integer_end - p - negative > 10)
        return NULL;
    if (dot && (stop - dot - 1 < 1 || stop - dot - 1 > 8)) return NULL;
    for (Ptr q = p + negative; q < stop; q++)
        if (q != dot && !is_digit(*q)) return NULL;
    return stop;
}

/* #VER series number date [text [date|"" [signature]]]: checked, nothing kept. */
static int scan_ver(Scan *s, Ptr first, Ptr end) {
    Ptr p = separated(first + 4, end);
    if (p) p = separated(text(p, end), end);           /* series */
    if (p) p = separated(text(p, end), end);           /* number */
    if (p) p = date(s, p, end, 0);
    for (int field = 0; p && p < end; field++) {
        if (field == 3) return 0;                       /* extra fields (a warning) */
        p = separated(p, end);
        if (p) p = field == 1 ? date(s, p, end, 1) : text(p, end);
    }
    return p != NULL;
}

/* #TRANS account {objects} amount [date|"" [text [quantity|"" [signature]]]] */
static int scan_row(Scan *s, Ptr first, Ptr end, int kind, int64_t line) {
    int32_t key;
    int64_t ore;
    int8_t decimals;
    Ptr p = separated(first + (kind ? 7 : 6), end);
    if (p) p = separated(account(p, end, &key), end);
    if (p) p = separated(object_list(s, p, end), end);
    if (p) p = amount(p, end, &ore, &decimals);
    for (int field = 0; p && p < end; field++) {
        if (field == 4) return 0;                       /* extra fields (a warning) */
        p = separated(p, end);
        if (!p) break;
        p = field == 0 ? date(s, p, end, 1) : field == 2 ? quantity(p, end) : text(p, end);
    }
    if (!p) return 0;
    int64_t n = s->n_rows++;
    s->row_line[n] = (int32_t)line;
    s->row_kind[n] = (int8_t)kind;
    s->row_ore[n] = ore;
    s->row_decimals[n] = decimals;
    s->row_key[n] = key;
    return 1;
}

/* One line, [start, e) before its LF: its class, and the fields of #VER and rows. */
static int scan_line(Scan *s, Ptr start, Ptr e, int64_t line) {
    /* Stripped of spaces, tabs and CR, as the reader strips lines. */
    Ptr first = start, end = e;
    while (first < end && is_trim(*first)) first++;
    while (end > first && is_trim(end[-1])) end--;
    if (first == end) return SCAN_OK; /* BLANK: no class kept */
    int class = HEADER, kind = 0;
    int64_t length = end - first;
    if (length == 1 && *first == '{') class = OPEN;
    else if (length == 1 && *first == '}') class = CLOSE;
    else if (length >= 4 && memcmp(first, "#VER", 4) == 0 && label_end(first + 4, e))
        class = VER;
    else if (length >= 6 && memcmp(first, "#TRANS", 6) == 0 && label_end(first + 6, e))
        class = ROW;
    else if (length >= 7 && (memcmp(first, "#RTRANS", 7) == 0 ||
                             memcmp(first, "#BTRANS", 7) == 0) && label_end(first + 7, e)) {
        class = ROW;
        kind = first[1] == 'R' ? 1 : 2;
    }
    s->classes[s->n_classes++] = (int8_t)class;
    if (class == HEADER) {
        int64_t *h = s->header + 3 * s->n_header++;
        h[0] = line, h[1] = start - s->data, h[2] = e - s->data;
    } else if (class == VER) {
        if (!scan_ver(s, first, end)) return s->full ? SCAN_FULL : SCAN_FALLBACK;
        int64_t *v = s->ver + 2 * s->n_ver++;
        v[0] = line, v[1] = start - s->data;
    } else if (class == ROW && !scan_row(s, first, end, kind, line)) {
        return s->full ? SCAN_FULL : SCAN_FALLBACK;
    }
    return SCAN_OK;
}

/* Eight bytes at a time: a word's flag bytes (top bit) at its control characters (below
 * 32, and 127); exact up to the first flagged byte, which is all that is used. */
#define ONES 0x0101010101010101u
static uint64_t controls(uint64_t w) {
    uint64_t del = w ^ (127 * ONES);
    return ((w - 32 * ONES) | (del - ONES)) & ~w & (128 * ONES);
}

/* The chunk's LF count: the caller sizes the arrays by it. */
int64_t scan_count_lines(const uint8_t *data, int64_t size) {
    int64_t n = 0, i = 0;
    for (; i + 8 <= size; i += 8) {
        uint64_t w;
        memcpy(&w, data + i, 8);
        uint64_t y = w ^ (10 * ONES); /* zero bytes at the LFs, found exactly: */
        uint64_t zero = ~(((y & (127 * ONES)) + 127 * ONES) | y) & (128 * ONES);
        n += (int64_t)((zero >> 7) * ONES >> 56);
    }
    for (; i < size; i++) n += data[i] == '\n';
    return n;
}

int scan_chunk(Scan *s) {
    Ptr start = s->data, stop = s->data + s->size;
    s->lines = s->n_classes = s->n_header = s->n_ver = s->n_rows = s->n_dates = s->n_lists = 0;
    s->full = 0;
    memset(s->date_table, 0, (size_t)s->table_size * sizeof *s->date_table);
    memset(s->list_table, 0, (size_t)s->table_size * sizeof *s->list_table);
    for (int64_t line = 0; start < stop; line++) {
        /* The line's end. Its only control characters: tab, and CR just before the LF. */
        Ptr e = start;
        for (; e < stop; e++) {
            for (uint64_t w, flags; stop - e >= 8; e += 8) { /* skip plain bytes */
                memcpy(&w, e, 8);
                if ((flags = controls(w))) {
                    e += __builtin_ctzll(flags) / 8;
                    break;
                }
            }
            if (e == stop) break;
            uint8_t c = *e;
            if (c >= 32 && c != 127) continue;
            if (c == '\n') break;
            if (c == '\t' || (c == '\r' && e + 1 < stop && e[1] == '\n')) continue;
            return SCAN_FALLBACK; /* the reader warns about the others */
        }
        if (e == stop && !s->final) break; /* cut off: the next chunk's */
        if (line >= s->line_cap) return SCAN_FULL;
        int status = scan_line(s, start, e, line);
        if (status != SCAN_OK) return status;
        if (e == stop) break;
        s->lines++;
        start = e + 1;
    }
    return SCAN_OK;
}
