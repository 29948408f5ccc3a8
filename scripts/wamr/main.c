/*
 * clawft-wamr: a small WAMR host for clawft's tests, built by scripts/wamr.sh from the WAMR
 * source the wamrx-sys crate vendors (which has no product-mini/, so no iwasm).
 *
 * Two modes, one process per module:
 *
 *   clawft-wamr [options] app.wasm [args...]
 *     Runs a WASI preview1 command (`_start`) like WAMR's iwasm: WAMR's own libc-wasi with the
 *     preopens, environment and arguments given, stdio inherited, the socket extension
 *     (sock_open, sock_connect, ...) limited to --addr-pool. Exit status: the module's
 *     proc_exit code; 1 (with "clawft-wamr: ..." on stderr) when the module cannot be
 *     loaded or instantiated or traps.
 *
 *   clawft-wamr --drive=IN,OUT [options] core.wasm
 *     Drives a reactor's exports (the raw-ABI cores, docs/abi.md) from another process over
 *     two FIFOs, so that the TypeScript faces in src/ call the very module bytes running in
 *     WAMR (test/helpers/wamr.ts is the other end). Linear memory is mirrored: both sides
 *     keep the memory and a shadow copy and, whenever control passes to the other side, send
 *     the 4 KiB pages that differ from the shadow. Imports other than WASI's become calls
 *     back to the driver.
 *
 * Options: --dir=PATH (preopen PATH under its own name), --map-dir=GUEST::HOST, --env=K=V,
 *          --addr-pool=ADDR/MASK[,...], --allow-resolve=DOMAIN[,...] (sock_addr_resolve),
 *          --stack-size=BYTES (wasm operand stack, default 262144), --version.
 *
 * Drive protocol (little-endian; each message starts with one op byte):
 *   host -> driver, once:  'H' u32 nexports { str name, u8 kind (0 func, 2 memory),
 *                          str params, str results }, u32 nimports { str module, str name,
 *                          str params, str results }; then a sync and 'R' 0. str = u16 length
 *                          + bytes;
 *                          value types as letters i I f F (i32 i64 f32 f64).
 *   sync (both ways):      'S' u32 memoryBytes, u32 npages { u32 offset, u32 length, bytes }
 *   driver -> host:        sync, then 'C' str export, u8 n, n x u64 (argument bits) | 'Q' (quit)
 *   host -> driver:        sync, then 'R' u8 n, n x u64 (result bits) | 'T' str message (trap)
 *                          | 'X' u16 import, u8 n, n x u64, after which the driver answers
 *                          with a sync, then 'R' u8 n, n x u64 (the import's results)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm_export.h"

#define MAX_LIST 64
#define PAGE 4096u

static const char *dirs[MAX_LIST], *map_dirs[MAX_LIST], *envs[MAX_LIST], *pool[MAX_LIST], *resolve[MAX_LIST];
static uint32_t ndirs, nmap_dirs, nenvs, npool, nresolve;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "clawft-wamr: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static void add(const char **list, uint32_t *n, const char *value, const char *option)
{
    if (*n == MAX_LIST) die("too many values for", option);
    list[(*n)++] = value;
}

/* Splits a comma-separated option value (modified in place) into `list`. */
static void add_csv(const char **list, uint32_t *n, char *value, const char *option)
{
    for (char *tok = strtok(value, ","); tok; tok = strtok(NULL, ",")) add(list, n, tok, option);
}

static uint8_t *read_file(const char *path, uint32_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) die(path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) die(path, "cannot read");
    fclose(f);
    *size = (uint32_t)n;
    return buf;
}

/* ---- the drive protocol ---- */

static FILE *in, *out;
static wasm_module_inst_t inst;
static wasm_exec_env_t exec_env;
static uint8_t *shadow;
static uint32_t shadow_size;

static void rd(void *p, size_t n)
{
    if (n && fread(p, 1, n, in) != n) die("driver closed the connection", NULL);
}
static void wr(const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, out) != n) die("cannot write to the driver", strerror(errno));
}
static uint8_t rd8(void) { uint8_t v; rd(&v, 1); return v; }
static uint16_t rd16(void) { uint16_t v; rd(&v, 2); return v; }
static uint32_t rd32(void) { uint32_t v; rd(&v, 4); return v; }
static void wr8(uint8_t v) { wr(&v, 1); }
static void wr16(uint16_t v) { wr(&v, 2); }
static void wr32(uint32_t v) { wr(&v, 4); }
static void wrstr(const char *s) { size_t n = strlen(s); wr16((uint16_t)n); wr(s, n); }

static char kind_letter(wasm_valkind_t k)
{
    switch (k) {
        case WASM_I32: return 'i';
        case WASM_I64: return 'I';
        case WASM_F32: return 'f';
        case WASM_F64: return 'F';
        default: return '?';
    }
}

/* Writes a function type as two strs: parameter letters, result letters. */
static void wr_functype(wasm_func_type_t t)
{
    char buf[256];
    uint32_t n = wasm_func_type_get_param_count(t), i;
    for (i = 0; i < n && i < 255; i++) buf[i] = kind_letter(wasm_func_type_get_param_valkind(t, i));
    buf[i] = 0;
    wrstr(buf);
    n = wasm_func_type_get_result_count(t);
    for (i = 0; i < n && i < 255; i++) buf[i] = kind_letter(wasm_func_type_get_result_valkind(t, i));
    buf[i] = 0;
    wrstr(buf);
}

static uint8_t *memory_base(uint32_t *size)
{
    wasm_memory_inst_t m = wasm_runtime_get_default_memory(inst);
    if (!m) { *size = 0; return NULL; }
    *size = (uint32_t)(wasm_memory_get_cur_page_count(m) * wasm_memory_get_bytes_per_page(m));
    return wasm_memory_get_base_address(m);
}

/* Sends the pages that changed since the last sync (and the current memory size). */
static void send_sync(void)
{
    uint32_t size;
    uint8_t *mem = memory_base(&size);
    if (size > shadow_size) {
        shadow = realloc(shadow, size);
        if (!shadow) die("out of memory", NULL);
        memset(shadow + shadow_size, 0, size - shadow_size);
        shadow_size = size;
    }
    uint32_t count = 0;
    for (uint32_t at = 0; at < size; at += PAGE)
        if (memcmp(mem + at, shadow + at, PAGE) != 0) count++;
    wr8('S');
    wr32(size);
    wr32(count);
    for (uint32_t at = 0; at < size; at += PAGE) {
        if (memcmp(mem + at, shadow + at, PAGE) == 0) continue;
        wr32(at);
        wr32(PAGE);
        wr(mem + at, PAGE);
        memcpy(shadow + at, mem + at, PAGE);
    }
}

/* Applies the driver's sync: its writes into memory (memory never shrinks; the driver's
   size is the one it last heard of). */
static void recv_sync(void)
{
    if (rd8() != 'S') die("protocol error", "sync expected");
    uint32_t size, driver_size = rd32(), count = rd32();
    uint8_t *mem = memory_base(&size);
    (void)driver_size;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t at = rd32(), len = rd32();
        if ((uint64_t)at + len > size) die("protocol error", "page outside memory");
        rd(mem + at, len);
        memcpy(shadow + at, mem + at, len);
    }
}

static void val_from_bits(wasm_val_t *v, wasm_valkind_t kind, uint64_t bits)
{
    memset(v, 0, sizeof *v);
    v->kind = kind;
    switch (kind) {
        case WASM_I32: v->of.i32 = (int32_t)(uint32_t)bits; break;
        case WASM_I64: v->of.i64 = (int64_t)bits; break;
        case WASM_F32: { uint32_t b = (uint32_t)bits; memcpy(&v->of.f32, &b, 4); break; }
        case WASM_F64: memcpy(&v->of.f64, &bits, 8); break;
        default: die("unsupported value type", NULL);
    }
}

static uint64_t val_to_bits(const wasm_val_t *v)
{
    uint64_t bits = 0;
    switch (v->kind) {
        case WASM_I32: bits = (uint32_t)v->of.i32; break;
        case WASM_I64: bits = (uint64_t)v->of.i64; break;
        case WASM_F32: { uint32_t b; memcpy(&b, &v->of.f32, 4); bits = b; break; }
        case WASM_F64: memcpy(&bits, &v->of.f64, 8); break;
        default: die("unsupported value type", NULL);
    }
    return bits;
}

/* One imported function's type, for the callback (index = NativeSymbol attachment). */
typedef struct {
    uint32_t nparams, nresults;
    wasm_valkind_t results[8];
} import_sig;
static import_sig import_sigs[MAX_LIST];
static NativeSymbol natives[MAX_LIST];
static char native_sigs[MAX_LIST][64];

/* A call from wasm into an import: handed to the driver, which answers with its results. */
static void import_bridge(wasm_exec_env_t env, uint64_t *args)
{
    uint32_t index = (uint32_t)(uintptr_t)wasm_runtime_get_function_attachment(env);
    import_sig *sig = &import_sigs[index];
    send_sync();
    wr8('X');
    wr16((uint16_t)index);
    wr8((uint8_t)sig->nparams);
    wr(args, 8u * sig->nparams);
    fflush(out);
    recv_sync();
    if (rd8() != 'R') die("protocol error", "import result expected");
    uint8_t n = rd8();
    if (n != sig->nresults) die("protocol error", "wrong import result count");
    uint64_t bits[8];
    rd(bits, 8u * n);
    /* raw natives return in args[0], as the declared type */
    if (n == 1) {
        if (sig->results[0] == WASM_I32 || sig->results[0] == WASM_F32) {
            uint32_t b = (uint32_t)bits[0];
            memcpy(args, &b, 4);
        } else {
            memcpy(args, &bits[0], 8);
        }
    }
}

/* Links every non-WASI function import of `module` to import_bridge (load with no_resolve). */
static void link_imports(wasm_module_t module)
{
    int32_t n = wasm_runtime_get_import_count(module);
    uint32_t count = 0;
    for (int32_t i = 0; i < n; i++) {
        wasm_import_t imp;
        wasm_runtime_get_import_type(module, i, &imp);
        if (imp.kind != WASM_IMPORT_EXPORT_KIND_FUNC) continue;
        if (strcmp(imp.module_name, "wasi_snapshot_preview1") == 0) continue;
        if (count == MAX_LIST) die("too many imports", NULL);
        import_sig *sig = &import_sigs[count];
        char *s = native_sigs[count];
        uint32_t k = 0;
        sig->nparams = wasm_func_type_get_param_count(imp.u.func_type);
        sig->nresults = wasm_func_type_get_result_count(imp.u.func_type);
        if (sig->nparams > 48 || sig->nresults > 1) die("unsupported import signature", imp.name);
        s[k++] = '(';
        for (uint32_t p = 0; p < sig->nparams; p++) s[k++] = kind_letter(wasm_func_type_get_param_valkind(imp.u.func_type, p));
        s[k++] = ')';
        for (uint32_t r = 0; r < sig->nresults; r++) {
            sig->results[r] = wasm_func_type_get_result_valkind(imp.u.func_type, r);
            s[k++] = kind_letter(sig->results[r]);
        }
        s[k] = 0;
        natives[count] = (NativeSymbol){ imp.name, (void *)import_bridge, s, (void *)(uintptr_t)count };
        if (!wasm_runtime_register_natives_raw(imp.module_name, &natives[count], 1)) die("cannot link import", imp.name);
        count++;
    }
}

/* Says hello (exports, imports), then serves calls until 'Q' or end of input. */
static int drive(wasm_module_t module)
{
    int32_t ne = wasm_runtime_get_export_count(module), ni = wasm_runtime_get_import_count(module);
    uint32_t shown = 0;
    for (int32_t i = 0; i < ne; i++) {
        wasm_export_t e;
        wasm_runtime_get_export_type(module, i, &e);
        if (e.kind == WASM_IMPORT_EXPORT_KIND_FUNC || e.kind == WASM_IMPORT_EXPORT_KIND_MEMORY) shown++;
    }
    wr8('H');
    wr32(shown);
    for (int32_t i = 0; i < ne; i++) {
        wasm_export_t e;
        wasm_runtime_get_export_type(module, i, &e);
        if (e.kind == WASM_IMPORT_EXPORT_KIND_FUNC) {
            wrstr(e.name);
            wr8(0);
            wr_functype(e.u.func_type);
        } else if (e.kind == WASM_IMPORT_EXPORT_KIND_MEMORY) {
            wrstr(e.name);
            wr8(2);
            wrstr("");
            wrstr("");
        }
    }
    uint32_t nfunc = 0;
    for (int32_t i = 0; i < ni; i++) {
        wasm_import_t imp;
        wasm_runtime_get_import_type(module, i, &imp);
        if (imp.kind == WASM_IMPORT_EXPORT_KIND_FUNC && strcmp(imp.module_name, "wasi_snapshot_preview1") != 0) nfunc++;
    }
    wr32(nfunc);
    for (int32_t i = 0; i < ni; i++) {
        wasm_import_t imp;
        wasm_runtime_get_import_type(module, i, &imp);
        if (imp.kind != WASM_IMPORT_EXPORT_KIND_FUNC || strcmp(imp.module_name, "wasi_snapshot_preview1") == 0) continue;
        wrstr(imp.module_name);
        wrstr(imp.name);
        wr_functype(imp.u.func_type);
    }
    send_sync();
    wr8('R');
    wr8(0);
    fflush(out);

    char name[1024];
    for (;;) {
        int op = fgetc(in);
        if (op == EOF || op == 'Q') return 0;
        if (op != 'S') die("protocol error", "sync or quit expected");
        ungetc(op, in);
        recv_sync();
        if (rd8() != 'C') die("protocol error", "call expected");
        uint16_t len = rd16();
        if (len >= sizeof name) die("protocol error", "name too long");
        rd(name, len);
        name[len] = 0;
        wasm_function_inst_t f = wasm_runtime_lookup_function(inst, name);
        if (!f) die("no such export", name);
        uint32_t np = wasm_func_get_param_count(f, inst), nr = wasm_func_get_result_count(f, inst);
        wasm_valkind_t pk[48], rk[8];
        if (np > 48 || nr > 8) die("unsupported export signature", name);
        wasm_func_get_param_types(f, inst, pk);
        wasm_func_get_result_types(f, inst, rk);
        uint8_t n = rd8();
        if (n != np) die("protocol error", "wrong argument count");
        wasm_val_t args[48], results[8];
        for (uint32_t i = 0; i < np; i++) {
            uint64_t bits;
            rd(&bits, 8);
            val_from_bits(&args[i], pk[i], bits);
        }
        for (uint32_t i = 0; i < nr; i++) results[i].kind = rk[i];
        bool ok = wasm_runtime_call_wasm_a(exec_env, f, nr, results, np, args);
        send_sync();
        if (ok) {
            wr8('R');
            wr8((uint8_t)nr);
            for (uint32_t i = 0; i < nr; i++) {
                uint64_t bits = val_to_bits(&results[i]);
                wr(&bits, 8);
            }
        } else {
            const char *e = wasm_runtime_get_exception(inst);
            wr8('T');
            wrstr(e ? e : "unknown trap");
            wasm_runtime_clear_exception(inst);
        }
        fflush(out);
    }
}

int main(int argc, char **argv)
{
    uint32_t stack_size = 256 * 1024;
    char *drive_spec = NULL;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        char *a = argv[i];
        if (strncmp(a, "--dir=", 6) == 0) add(dirs, &ndirs, a + 6, "--dir");
        else if (strncmp(a, "--map-dir=", 10) == 0) add(map_dirs, &nmap_dirs, a + 10, "--map-dir");
        else if (strncmp(a, "--env=", 6) == 0) add(envs, &nenvs, a + 6, "--env");
        else if (strncmp(a, "--addr-pool=", 12) == 0) add_csv(pool, &npool, a + 12, "--addr-pool");
        else if (strncmp(a, "--allow-resolve=", 16) == 0) add_csv(resolve, &nresolve, a + 16, "--allow-resolve");
        else if (strncmp(a, "--stack-size=", 13) == 0) stack_size = (uint32_t)strtoul(a + 13, NULL, 10);
        else if (strncmp(a, "--drive=", 8) == 0) drive_spec = a + 8;
        else if (strcmp(a, "--version") == 0) {
            uint32_t major, minor, patch;
            wasm_runtime_get_version(&major, &minor, &patch);
            printf("WAMR %u.%u.%u fast interpreter\n", major, minor, patch);
            return 0;
        } else die("unknown option", a);
    }
    if (i >= argc) {
        fprintf(stderr, "usage: clawft-wamr [--dir=PATH] [--map-dir=GUEST::HOST] [--env=K=V] [--addr-pool=CIDR,...]\n"
                        "                   [--allow-resolve=DOMAIN,...] [--stack-size=BYTES] [--drive=IN,OUT] app.wasm [args...]\n");
        return 2;
    }
    /* WASI's ordering: plain --dir preopens first, their mapped names are their own paths */
    const char *preopens[2 * MAX_LIST];
    uint32_t npre = 0;
    for (uint32_t d = 0; d < ndirs; d++) preopens[npre++] = dirs[d];

    RuntimeInitArgs init;
    memset(&init, 0, sizeof init);
    init.mem_alloc_type = Alloc_With_System_Allocator;
    if (!wasm_runtime_full_init(&init)) die("cannot initialise WAMR", NULL);

    uint32_t size;
    uint8_t *buf = read_file(argv[i], &size);
    char error[256];
    LoadArgs load_args;
    memset(&load_args, 0, sizeof load_args);
    load_args.name = "";
    load_args.no_resolve = drive_spec != NULL;
    wasm_module_t module = wasm_runtime_load_ex(buf, size, &load_args, error, sizeof error);
    if (!module) die("cannot load the module", error);
    if (drive_spec) {
        link_imports(module);
        if (!wasm_runtime_resolve_symbols(module)) die("cannot link the module's imports", NULL);
    }
    wasm_runtime_set_wasi_args_ex(module, preopens, npre, map_dirs, nmap_dirs, envs, nenvs, argv + i, argc - i, -1, -1, -1);
    wasm_runtime_set_wasi_addr_pool(module, pool, npool);
    wasm_runtime_set_wasi_ns_lookup_pool(module, resolve, nresolve);
    inst = wasm_runtime_instantiate(module, stack_size, 0, error, sizeof error);
    if (!inst) die("cannot instantiate the module", error);

    int code;
    if (drive_spec) {
        char *comma = strchr(drive_spec, ',');
        if (!comma) die("--drive needs IN,OUT", drive_spec);
        *comma = 0;
        /* the driver opens IN for writing first, then OUT for reading: same order here */
        in = fopen(drive_spec, "rb");
        if (!in) die(drive_spec, strerror(errno));
        out = fopen(comma + 1, "wb");
        if (!out) die(comma + 1, strerror(errno));
        exec_env = wasm_runtime_create_exec_env(inst, stack_size);
        if (!exec_env) die("cannot create an execution environment", NULL);
        code = drive(module);
        wasm_runtime_destroy_exec_env(exec_env);
    } else {
        if (!wasm_application_execute_main(inst, 0, NULL)) {
            const char *e = wasm_runtime_get_exception(inst);
            fprintf(stderr, "clawft-wamr: %s\n", e ? e : "the module failed");
            code = 1;
        } else {
            code = (int)wasm_runtime_get_wasi_exit_code(inst);
        }
    }
    wasm_runtime_deinstantiate(inst);
    wasm_runtime_unload(module);
    wasm_runtime_destroy();
    free(buf);
    return code;
}
