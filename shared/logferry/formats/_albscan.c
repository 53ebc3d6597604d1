/* Hand-written scanner for ALB / Classic ELB access log lines.
 *
 * fields(line) returns what logferry.formats.alb._fields_by_regex(line) returns (the 45
 * groups of the line regex, numbers as int or float), six times faster here, or None when
 * it cannot be sure: then the regex decides. The regex is the specification;
 * tests/unit/test_albscan.py checks the two agree on every line of the golden files and
 * on mutated lines.
 *
 * The scanner walks the line's UTF-8 once: tokens end at a space, quoted fields at the
 * next quote (every delimiter is ASCII, and UTF-8 never uses ASCII bytes inside a
 * character, so byte positions split the text exactly where the regex does). It gives up
 * (returns None) on anything the regex could match differently: a newline, a non-ASCII
 * character where the regex has \d (which matches Unicode digits), a fixed field of the
 * wrong shape, a string with lone surrogates (no UTF-8 form). The optional ALB tail is
 * matched level by level like the regex's nested optional groups; text left after the
 * last level that matched is the `rest` group.
 */
#define PY_SSIZE_T_CLEAN
#define Py_LIMITED_API 0x030B0000 /* the stable ABI: one build serves Python 3.11 and later */
#include <Python.h>
#include <string.h>

enum {
    G_TYPE, G_TIME, G_NAME, G_CLIENT_IP, G_CLIENT_PORT, G_TARGET_IP, G_TARGET_PORT,
    G_REQUEST_TIME, G_TARGET_TIME, G_RESPONSE_TIME, G_ELB_STATUS, G_TARGET_STATUS,
    G_RECEIVED, G_SENT, G_METHOD, G_URL, G_SCHEME, G_HOST, G_URL_PORT, G_PATH, G_QUERY,
    G_VERSION, G_RAW_REQUEST, G_USER_AGENT, G_CIPHER, G_PROTOCOL, G_TARGET_GROUP,
    G_TRACE, G_ROOT, G_DOMAIN, G_CERT, G_RULE, G_CREATED, G_ACTIONS, G_REDIRECT,
    G_ERROR_REASON, G_TARGETS, G_TARGET_STATUSES, G_CLASSIFICATION,
    G_CLASSIFICATION_REASON, G_CONN_TRACE, G_T_HOST, G_T_URI, G_T_STATUS, G_REST,
    N_GROUPS
};

/* Positions are >= 0; these say why scanning stopped. */
#define FAIL (-1) /* this part does not match (an optional level is then skipped) */
#define BAIL (-2) /* the regex might match where the scanner cannot tell: let it decide */

typedef struct {
    const unsigned char *p; /* the line as UTF-8 */
    Py_ssize_t n;
    Py_ssize_t start[N_GROUPS]; /* -1: the group did not match (None) */
    Py_ssize_t end[N_GROUPS];
} Scan;

static inline unsigned char at(const Scan *s, Py_ssize_t i) { return s->p[i]; }

static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* Index of the first `c` in [i, stop), or -1. */
static Py_ssize_t find(const Scan *s, Py_ssize_t i, Py_ssize_t stop, char c) {
    if (i >= stop) return -1;
    const unsigned char *hit = memchr(s->p + i, c, (size_t)(stop - i));
    return hit ? hit - s->p : -1;
}

/* End of the token starting at i: the next space or the end of the line. */
static inline Py_ssize_t token_end(const Scan *s, Py_ssize_t i) {
    Py_ssize_t sp = find(s, i, s->n, ' ');
    return sp < 0 ? s->n : sp;
}

static inline void set(Scan *s, int g, Py_ssize_t a, Py_ssize_t b) { s->start[g] = a; s->end[g] = b; }

static inline int is_dash(const Scan *s, Py_ssize_t a, Py_ssize_t b) { return b == a + 1 && at(s, a) == '-'; }

static inline int starts_with(const Scan *s, Py_ssize_t i, Py_ssize_t stop, const char *lit) {
    for (; *lit; lit++, i++)
        if (i >= stop || at(s, i) != (unsigned char)*lit) return 0;
    return 1;
}

/* Digits [0-9] from i: the index after them, or BAIL at a non-ASCII character (\d in
 * the regex would match Unicode digits too). */
static Py_ssize_t digits(const Scan *s, Py_ssize_t i, Py_ssize_t stop) {
    while (i < stop && is_digit(at(s, i))) i++;
    return (i < stop && at(s, i) > 127) ? BAIL : i;
}

/* [a, b) is wholly `-?\d+(?:\.\d+)?` (with_fraction) or `-?\d+`: 1, 0, or BAIL. */
static int is_number(const Scan *s, Py_ssize_t a, Py_ssize_t b, int signed_, int with_fraction) {
    if (signed_ && a < b && at(s, a) == '-') a++;
    Py_ssize_t i = digits(s, a, b);
    if (i == BAIL) return BAIL;
    if (i == a) return (a < b && at(s, a) > 127) ? BAIL : 0;
    if (with_fraction && i < b && at(s, i) == '.') {
        Py_ssize_t j = digits(s, i + 1, b);
        if (j == BAIL) return BAIL;
        if (j == i + 1) return (j < b && at(s, j) > 127) ? BAIL : 0;
        i = j;
    }
    return i == b;
}

/* A space at i: the index after it, else FAIL (a FAIL or BAIL passed in is passed on). */
static inline Py_ssize_t space(const Scan *s, Py_ssize_t i) {
    if (i < 0) return i;
    return (i < s->n && at(s, i) == ' ') ? i + 1 : FAIL;
}

/* `([^ ]+)`: a token of at least one character. */
static Py_ssize_t token(Scan *s, Py_ssize_t i, int g) {
    if (i < 0) return i;
    Py_ssize_t e = token_end(s, i);
    if (e == i) return FAIL;
    set(s, g, i, e);
    return e;
}

/* `(?:-|([^ ]+))`: an unquoted token, `-` as None. */
static Py_ssize_t dash_or_token(Scan *s, Py_ssize_t i, int g) {
    Py_ssize_t e = token(s, i, g);
    if (e >= 0 && is_dash(s, i, e)) s->start[g] = -1;
    return e;
}

/* `"(?:-|([^"]*))"`: a quoted field without quotes in it, `"-"` as None. */
static Py_ssize_t quoted(Scan *s, Py_ssize_t i, int g) {
    if (i < 0) return i;
    if (i >= s->n || at(s, i) != '"') return FAIL;
    Py_ssize_t q = find(s, i + 1, s->n, '"');
    if (q < 0) return FAIL;
    if (!is_dash(s, i + 1, q)) set(s, g, i + 1, q);
    return q + 1;
}

/* `(?:(\d+)|-)` (signed: `(?:(-?\d+)|-)`) as a whole token. */
static Py_ssize_t number_or_dash(Scan *s, Py_ssize_t i, int g, int signed_) {
    if (i < 0) return i;
    Py_ssize_t e = token_end(s, i);
    int ok = is_number(s, i, e, signed_, 0);
    if (ok == BAIL) return BAIL;
    if (ok) set(s, g, i, e);
    else if (!is_dash(s, i, e)) return FAIL;
    return e;
}

/* `(-?\d+(?:\.\d+)?)` as a whole token: a processing time in seconds. */
static Py_ssize_t seconds(Scan *s, Py_ssize_t i, int g) {
    if (i < 0) return i;
    Py_ssize_t e = token_end(s, i);
    int ok = is_number(s, i, e, 1, 1);
    if (ok != 1) return ok == BAIL ? BAIL : FAIL;
    set(s, g, i, e);
    return e;
}

/* `(?:([^ ]*):(\d+)|-)`: ip:port (split at the last colon) or `-`. */
static Py_ssize_t address(Scan *s, Py_ssize_t i, int g_ip, int g_port) {
    if (i < 0) return i;
    Py_ssize_t e = token_end(s, i), colon = -1;
    for (Py_ssize_t j = e - 1; j >= i; j--)
        if (at(s, j) == ':') { colon = j; break; }
    if (colon >= 0) {
        int ok = is_number(s, colon + 1, e, 0, 0);
        if (ok == BAIL) return BAIL;
        if (ok) { set(s, g_ip, i, colon); set(s, g_port, colon + 1, e); return e; }
    }
    return is_dash(s, i, e) ? e : FAIL;
}

/* `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?` as a whole token. */
static Py_ssize_t timestamp(Scan *s, Py_ssize_t i, int g) {
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    if (i < 0) return i;
    Py_ssize_t e = token_end(s, i), j = i;
    for (const char *c = shape; *c; c++, j++) {
        if (j >= e) return FAIL;
        unsigned char ch = at(s, j);
        if (ch > 127) return BAIL;
        if (*c == 'd' ? !is_digit(ch) : ch != (unsigned char)*c) return FAIL;
    }
    if (j < e && at(s, j) == '.') {
        Py_ssize_t k = digits(s, j + 1, e);
        if (k == BAIL) return BAIL;
        if (k > j + 1) j = k;
    }
    if (j < e && at(s, j) == 'Z') j++;
    if (j < e) return at(s, j) > 127 ? BAIL : FAIL;
    set(s, g, i, e);
    return e;
}

static inline int is_scheme_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '+' ||
           c == '.' || c == '-';
}

/* The URL of a request line, [a, b), no spaces or quotes in it:
 * `(?:(scheme)://(host)(?::(\d+))?(/[^?#" ]*)?(?:\?([^#" ]*))?)?` and the rest ignored. */
static int url_parts(Scan *s, Py_ssize_t a, Py_ssize_t b) {
    Py_ssize_t i = a;
    unsigned char c = i < b ? at(s, i) : 0;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return 0;
    while (i < b && is_scheme_char(at(s, i))) i++;
    if (!starts_with(s, i, b, "://")) return 0;
    set(s, G_SCHEME, a, i);
    Py_ssize_t h = i + 3, k = -1;
    if (h < b && at(s, h) == '[') {
        Py_ssize_t close = find(s, h + 1, b, ']');
        if (close >= 0) k = close + 1;
    }
    if (k < 0)
        for (k = h; k < b; k++) {
            c = at(s, k);
            if (c == '/' || c == ':' || c == '?' || c == '#') break;
        }
    set(s, G_HOST, h, k);
    if (k < b && at(s, k) == ':') {
        Py_ssize_t j = digits(s, k + 1, b);
        if (j == BAIL) return BAIL;
        if (j > k + 1) { set(s, G_URL_PORT, k + 1, j); k = j; }
    }
    if (k < b && at(s, k) == '/') {
        Py_ssize_t j = k;
        while (j < b && (c = at(s, j)) != '?' && c != '#') j++;
        set(s, G_PATH, k, j);
        k = j;
    }
    if (k < b && at(s, k) == '?') {
        Py_ssize_t j = find(s, k + 1, b, '#');
        set(s, G_QUERY, k + 1, j < 0 ? b : j);
    }
    return 0;
}

/* `"METHOD URL VERSION"` split into its groups, or the raw text when it is not three
 * space-separated parts (an optional trailing space allowed). */
static Py_ssize_t request(Scan *s, Py_ssize_t i) {
    if (i < 0) return i;
    if (i >= s->n || at(s, i) != '"') return FAIL;
    Py_ssize_t a = i + 1, q = find(s, a, s->n, '"');
    if (q < 0) return FAIL;
    Py_ssize_t sp1 = find(s, a, q, ' ');
    Py_ssize_t sp2 = sp1 > a ? find(s, sp1 + 1, q, ' ') : -1;
    Py_ssize_t sp3 = sp2 >= 0 ? find(s, sp2 + 1, q, ' ') : -1;
    if (sp2 < 0 || (sp3 >= 0 && sp3 != q - 1)) {
        set(s, G_RAW_REQUEST, a, q);
        return q + 1;
    }
    Py_ssize_t v_end = sp3 >= 0 ? sp3 : q;
    if (!is_dash(s, a, sp1)) set(s, G_METHOD, a, sp1);
    if (!is_dash(s, sp1 + 1, sp2)) {
        set(s, G_URL, sp1 + 1, sp2);
        if (url_parts(s, sp1 + 1, sp2) == BAIL) return BAIL;
    }
    if (starts_with(s, sp2 + 1, v_end, "HTTP/")) set(s, G_VERSION, sp2 + 6, v_end);
    return q + 1;
}

/* `"(?:-|([^"\\]*(?:\\.[^"\\]*)*))"`: the user agent, backslash escapes allowed. */
static Py_ssize_t user_agent(Scan *s, Py_ssize_t i) {
    if (i < 0) return i;
    if (i >= s->n || at(s, i) != '"') return FAIL;
    Py_ssize_t j = i + 1;
    for (;;) {
        if (j >= s->n) return FAIL;
        unsigned char c = at(s, j);
        if (c == '"') break;
        j += c == '\\' ? 2 : 1;
    }
    if (!is_dash(s, i + 1, j)) set(s, G_USER_AGENT, i + 1, j);
    return j + 1;
}

/* `"(?:-|((?:Self=[^;"]*;)?Root=([^;"]*)[^"]*|[^"]*))"`: the trace header and its Root. */
static Py_ssize_t trace(Scan *s, Py_ssize_t i) {
    if (i < 0) return i;
    Py_ssize_t e = quoted(s, i, G_TRACE);
    if (e < 0 || s->start[G_TRACE] < 0) return e;
    Py_ssize_t a = i + 1, q = e - 1, r = -1;
    if (starts_with(s, a, q, "Self=")) {
        Py_ssize_t semi = find(s, a, q, ';');
        if (semi >= 0 && starts_with(s, semi + 1, q, "Root=")) r = semi + 6;
    }
    if (r < 0 && starts_with(s, a, q, "Root=")) r = a + 5;
    if (r >= 0) {
        Py_ssize_t semi = find(s, r, q, ';');
        set(s, G_ROOT, r, semi < 0 ? q : semi);
    }
    return e;
}

/* The ALB fields after ssl_protocol, in the regex's nested optional levels: each field is
 * a kind (N: `-` or a token, Q: quoted, T: the trace header, R: the signed rule priority)
 * and its group; a level ends at the first field with kind 0. */
#define N_LEVELS 7
static const struct { char kind; int group; } levels[N_LEVELS][4] = {
    {{'N', G_TARGET_GROUP}, {'T', G_TRACE}, {'Q', G_DOMAIN}, {'Q', G_CERT}},
    {{'R', G_RULE}, {'N', G_CREATED}, {'Q', G_ACTIONS}, {'Q', G_REDIRECT}},
    {{'Q', G_ERROR_REASON}},
    {{'Q', G_TARGETS}, {'Q', G_TARGET_STATUSES}},
    {{'Q', G_CLASSIFICATION}, {'Q', G_CLASSIFICATION_REASON}},
    {{'N', G_CONN_TRACE}},
    {{'Q', G_T_HOST}, {'Q', G_T_URI}, {'Q', G_T_STATUS}},
};

/* Level n's fields from i, each after a space: the index after them, FAIL or BAIL. */
static Py_ssize_t level(Scan *s, int n, Py_ssize_t i) {
    for (int f = 0; f < 4 && levels[n][f].kind; f++) {
        int g = levels[n][f].group;
        i = space(s, i);
        switch (levels[n][f].kind) {
        case 'N': i = dash_or_token(s, i, g); break;
        case 'Q': i = quoted(s, i, g); break;
        case 'T': i = trace(s, i); break;
        default: i = number_or_dash(s, i, g, 1); break;
        }
    }
    return i;
}

/* The fields up to ssl_protocol (Classic ELB lines end there). */
static Py_ssize_t head(Scan *s) {
    Py_ssize_t i = 0, e = token_end(s, 0);
    int typed = e > 0 && e < s->n;
    for (Py_ssize_t j = 0; typed && j < e; j++) {
        unsigned char c = at(s, j);
        typed = (c >= 'a' && c <= 'z') || is_digit(c);
    }
    if (typed) {
        set(s, G_TYPE, 0, e);
        i = e + 1;
    }
    i = timestamp(s, i, G_TIME);
    i = token(s, space(s, i), G_NAME);
    i = address(s, space(s, i), G_CLIENT_IP, G_CLIENT_PORT);
    i = address(s, space(s, i), G_TARGET_IP, G_TARGET_PORT);
    static const int times[] = {G_REQUEST_TIME, G_TARGET_TIME, G_RESPONSE_TIME};
    for (int t = 0; t < 3; t++) i = seconds(s, space(s, i), times[t]);
    static const int counts[] = {G_ELB_STATUS, G_TARGET_STATUS, G_RECEIVED, G_SENT};
    for (int c = 0; c < 4; c++) i = number_or_dash(s, space(s, i), counts[c], 0);
    i = request(s, space(s, i));
    i = user_agent(s, space(s, i));
    i = dash_or_token(s, space(s, i), G_CIPHER);
    return dash_or_token(s, space(s, i), G_PROTOCOL);
}

/* How each group is returned: 'i' int, 'f' float (as the parser uses them; the regex
 * path converts the same groups), 'r' a str with few distinct values, reused from a small
 * cache (no new string, its hash already known), else a new str. */
static const char kinds[N_GROUPS] = {
    [G_CLIENT_PORT] = 'i', [G_TARGET_PORT] = 'i', [G_ELB_STATUS] = 'i',
    [G_TARGET_STATUS] = 'i', [G_RECEIVED] = 'i', [G_SENT] = 'i', [G_URL_PORT] = 'i',
    [G_RULE] = 'i', [G_REQUEST_TIME] = 'f', [G_TARGET_TIME] = 'f', [G_RESPONSE_TIME] = 'f',
    [G_TYPE] = 'r', [G_NAME] = 'r', [G_METHOD] = 'r', [G_SCHEME] = 'r', [G_HOST] = 'r',
    [G_VERSION] = 'r', [G_USER_AGENT] = 'r', [G_CIPHER] = 'r', [G_PROTOCOL] = 'r',
    [G_TARGET_GROUP] = 'r', [G_DOMAIN] = 'r', [G_CERT] = 'r', [G_ACTIONS] = 'r',
    [G_REDIRECT] = 'r', [G_ERROR_REASON] = 'r', [G_TARGETS] = 'r',
    [G_TARGET_STATUSES] = 'r', [G_CLASSIFICATION] = 'r', [G_CLASSIFICATION_REASON] = 'r',
    [G_T_HOST] = 'r', [G_T_URI] = 'r', [G_T_STATUS] = 'r',
};

#define MAX_DIGITS 18 /* fits a long long */

/* An integer group (`-?\d+`, ASCII digits: the scanner bails on others) as an int. */
static PyObject *integer(const Scan *s, int g) {
    const unsigned char *c = s->p + s->start[g], *end = s->p + s->end[g];
    int negative = *c == '-';
    long long v = 0;
    for (c += negative; c < end; c++) v = v * 10 + (*c - '0');
    return PyLong_FromLongLong(negative ? -v : v);
}

/* A processing time (`-?\d+(?:\.\d+)?`) as a float, rounded as float() rounds. */
static PyObject *real(const Scan *s, int g) {
    char text[64];
    Py_ssize_t len = s->end[g] - s->start[g];
    if (len >= (Py_ssize_t)sizeof text) {
        PyObject *str = PyUnicode_DecodeUTF8((const char *)s->p + s->start[g], len, NULL);
        PyObject *v = str ? PyFloat_FromString(str) : NULL;
        Py_XDECREF(str);
        return v;
    }
    memcpy(text, s->p + s->start[g], (size_t)len);
    text[len] = 0;
    double v = PyOS_string_to_double(text, NULL, NULL);
    return v == -1.0 && PyErr_Occurred() ? NULL : PyFloat_FromDouble(v);
}

#define CACHE_WAYS 4
#define CACHE_MAX 160
static struct {
    PyObject *str;
    Py_ssize_t len;
    unsigned char bytes[CACHE_MAX];
} cache[N_GROUPS][CACHE_WAYS];
static unsigned char cache_next[N_GROUPS];

/* A group of an ASCII line as a str, the cached one if it holds the same bytes. */
static PyObject *reused(PyObject *line, const Scan *s, int g) {
    const unsigned char *text = s->p + s->start[g];
    Py_ssize_t len = s->end[g] - s->start[g];
    if (len > CACHE_MAX) return PyUnicode_Substring(line, s->start[g], s->end[g]);
    for (int w = 0; w < CACHE_WAYS; w++)
        if (cache[g][w].str && cache[g][w].len == len && !memcmp(cache[g][w].bytes, text, (size_t)len))
            return Py_NewRef(cache[g][w].str);
    PyObject *str = PyUnicode_Substring(line, s->start[g], s->end[g]);
    if (str == NULL) return NULL;
    int w = cache_next[g]++ % CACHE_WAYS;
    Py_XDECREF(cache[g][w].str);
    cache[g][w].str = Py_NewRef(str);
    cache[g][w].len = len;
    memcpy(cache[g][w].bytes, text, (size_t)len);
    return str;
}

static PyObject *fields(PyObject *module, PyObject *line) {
    (void)module;
    if (!PyUnicode_Check(line)) {
        PyErr_SetString(PyExc_TypeError, "fields() takes a str");
        return NULL;
    }
    Scan s;
    s.p = (const unsigned char *)PyUnicode_AsUTF8AndSize(line, &s.n);
    if (s.p == NULL) { /* lone surrogates: no UTF-8 form, the regex decides */
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    for (int g = 0; g < N_GROUPS; g++) s.start[g] = -1;
    if (find(&s, 0, s.n, '\n') >= 0) Py_RETURN_NONE; /* `.` and `$` treat it specially */

    Py_ssize_t i = head(&s);
    if (i < 0) Py_RETURN_NONE;
    /* Each level nests in the one before; after the deepest that matched, the regex needs
     * the end of the line or ` .*` (the rest); if neither follows, that level is dropped. */
    Py_ssize_t ends[N_LEVELS + 1] = {i};
    int matched = 0;
    for (; matched < N_LEVELS; matched++) {
        Py_ssize_t e = level(&s, matched, ends[matched]);
        if (e == BAIL) Py_RETURN_NONE;
        if (e < 0) break;
        ends[matched + 1] = e;
    }
    while (matched > 0 && ends[matched] < s.n && at(&s, ends[matched]) != ' ') matched--;
    int first_dropped = matched < N_LEVELS ? levels[matched][0].group : G_REST;
    for (int g = first_dropped; g < G_REST; g++) s.start[g] = -1;
    if (ends[matched] < s.n) set(&s, G_REST, ends[matched], s.n);

    for (int g = 0; g < N_GROUPS; g++) /* a longer integer goes to the regex and int() */
        if (kinds[g] == 'i' && s.start[g] >= 0 && s.end[g] - s.start[g] > MAX_DIGITS)
            Py_RETURN_NONE;

    PyObject *out = PyTuple_New(N_GROUPS);
    if (out == NULL) return NULL;
    /* An ASCII line's byte positions are its character positions: slicing it is cheaper
     * than decoding. */
    int ascii = PyUnicode_GetLength(line) == s.n;
    for (int g = 0; g < N_GROUPS; g++) {
        PyObject *v;
        if (s.start[g] < 0) v = Py_NewRef(Py_None);
        else if (kinds[g] == 'i') v = integer(&s, g);
        else if (kinds[g] == 'f') v = real(&s, g);
        else if (!ascii) v = PyUnicode_DecodeUTF8((const char *)s.p + s.start[g], s.end[g] - s.start[g], NULL);
        else if (kinds[g] == 'r') v = reused(line, &s, g);
        else v = PyUnicode_Substring(line, s.start[g], s.end[g]);
        if (v == NULL || PyTuple_SetItem(out, g, v) < 0) {
            Py_DECREF(out);
            return NULL;
        }
    }
    return out;
}

static PyMethodDef methods[] = {
    {"fields", fields, METH_O,
     "fields(line, /)\n--\n\nThe groups of the ALB line regex for `line` (numbers as int or "
     "float), or None when the scanner cannot tell (then the regex decides)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_albscan",
    .m_doc = "A fast, exact scanner for ALB / Classic ELB access log lines.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__albscan(void) { return PyModule_Create(&module); }
