// faultfs: an LD_PRELOAD shim that models what a disk keeps through a power cut, and injects
// I/O errors, for MeetKit's fault tests (Tests/MeetKitCLITests/PowerLossTests.swift,
// DiskFaultTests.swift). The tests compile it at run time:
//     cc -shared -fPIC -O2 -U_FORTIFY_SOURCE -o faultfs.so faultfs.c -ldl -lpthread
//
// The model covers the files and directories under FAULTFS_ROOT (everything there when the
// process starts counts as durable):
//   - a file's bytes are durable as they were at its last fsync or fdatasync; a file never
//     synced is empty;
//   - a name in a directory (a created file or directory, a rename, an unlink) is durable only
//     once that directory has been fsynced: until then the directory lists what it listed at
//     its last fsync;
//   - writes since a file's last sync are lost (cut at a sync), or, for a cut at a write, each
//     512-byte sector of them independently may or may not have reached the disk, and each
//     directory may show its current listing instead of its last synced one.
//
// Environment:
//   FAULTFS_ROOT   the directory to model (the cut and fault counters count only files under it)
//   FAULTFS_OUT    where to write the "after the power cut" copy of ROOT (must not exist)
//   FAULTFS_CUT    sync:N  cut power at the start of the Nth sync (it does not take effect)
//                  write:N cut power during the Nth write (it may be torn)
//                  exit    cut power right after the process ends (nothing more is synced)
//                  The process kills itself with SIGKILL at the cut; with a cut that is never
//                  reached, the copy is made at exit.
//   FAULTFS_SEED   seed of the random choices of a write cut
//   FAULTFS_FAIL   write:N:ERRNO or sync:N:ERRNO (EIO, ENOSPC), with a "+" after N for "and
//                  every later one": that write or sync fails with ERRNO and does nothing
//   FAULTFS_STATS  a file that receives "syncs S writes W cut C" at exit or cut
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define SECTOR 512

// MARK: - The real functions

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_mkdir)(const char *, mode_t);
static int (*real_mkdirat)(int, const char *, mode_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static int (*real_ftruncate)(int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);

static pthread_once_t resolved = PTHREAD_ONCE_INIT;

static void resolve(void) {
    real_open = dlsym(RTLD_NEXT, "open");
    real_openat = dlsym(RTLD_NEXT, "openat");
    real_mkdir = dlsym(RTLD_NEXT, "mkdir");
    real_mkdirat = dlsym(RTLD_NEXT, "mkdirat");
    real_write = dlsym(RTLD_NEXT, "write");
    real_pwrite = dlsym(RTLD_NEXT, "pwrite");
    real_writev = dlsym(RTLD_NEXT, "writev");
    real_pwritev = dlsym(RTLD_NEXT, "pwritev");
    real_ftruncate = dlsym(RTLD_NEXT, "ftruncate");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
}

// MARK: - State

typedef struct { char *name; int object; } Link;
typedef struct { off_t offset; size_t length; unsigned char *data; int truncate; } Op;
typedef struct {
    ino_t ino;
    int live;     // ino still names this object (not unlinked and reused)
    int directory;
    unsigned char *bytes; size_t length;  // a file's durable bytes
    Op *ops; size_t opCount, opCapacity;   // a file's writes since its last sync
    Link *links; size_t linkCount;         // a directory's durable listing
} Object;

enum Cut { CUT_NONE, CUT_SYNC, CUT_WRITE, CUT_EXIT };
enum Kind { KIND_NONE, KIND_SYNC, KIND_WRITE };

static struct {
    int active;
    char root[PATH_MAX];
    dev_t device;
    int rootObject;
    char out[PATH_MAX];
    char stats[PATH_MAX];
    enum Cut cut;
    long cutAt;
    enum Kind failKind;
    long failAt;
    int failErrno;
    int failSticky;
    long syncs, writes;
    uint64_t random;
    int finished;
} S;

static Object *objects;
static size_t objectCount, objectCapacity;
static pthread_mutex_t mutex = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static __thread int inside;

// MARK: - Helpers

static uint64_t next_random(void) {
    S.random ^= S.random << 13;
    S.random ^= S.random >> 7;
    S.random ^= S.random << 17;
    return S.random;
}

static int coin(void) { return next_random() & 1; }

static int find_live(ino_t ino) {
    for (size_t i = 0; i < objectCount; i++)
        if (objects[i].live && objects[i].ino == ino) return (int)i;
    return -1;
}

static int new_object(ino_t ino, int directory) {
    for (size_t i = 0; i < objectCount; i++)
        if (objects[i].ino == ino) objects[i].live = 0;
    if (objectCount == objectCapacity) {
        objectCapacity = objectCapacity ? objectCapacity * 2 : 64;
        objects = realloc(objects, objectCapacity * sizeof(Object));
    }
    memset(&objects[objectCount], 0, sizeof(Object));
    objects[objectCount].ino = ino;
    objects[objectCount].live = 1;
    objects[objectCount].directory = directory;
    return (int)objectCount++;
}

static int read_all(const char *path, unsigned char **bytes, size_t *length) {
    int fd = real_open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t capacity = 65536, used = 0;
    unsigned char *buffer = malloc(capacity);
    for (;;) {
        if (used == capacity) buffer = realloc(buffer, capacity *= 2);
        ssize_t n = pread(fd, buffer + used, capacity - used, (off_t)used);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        used += (size_t)n;
    }
    close(fd);
    *bytes = buffer;
    *length = used;
    return 0;
}

static void clear_ops(Object *object) {
    for (size_t i = 0; i < object->opCount; i++) free(object->ops[i].data);
    object->opCount = 0;
}

static void add_op(int o, off_t offset, const void *data, size_t length, int truncate) {
    Object *object = &objects[o];
    if (object->opCount == object->opCapacity) {
        object->opCapacity = object->opCapacity ? object->opCapacity * 2 : 16;
        object->ops = realloc(object->ops, object->opCapacity * sizeof(Op));
    }
    Op *op = &object->ops[object->opCount++];
    op->offset = offset;
    op->length = length;
    op->truncate = truncate;
    op->data = NULL;
    if (!truncate && length > 0) {
        op->data = malloc(length);
        memcpy(op->data, data, length);
    }
}

/// The file's current bytes become its durable bytes.
static void snapshot_file(int o, const char *path) {
    unsigned char *bytes;
    size_t length;
    if (read_all(path, &bytes, &length) != 0) return;
    free(objects[o].bytes);
    objects[o].bytes = bytes;
    objects[o].length = length;
    clear_ops(&objects[o]);
}

static void free_links(Object *object) {
    for (size_t i = 0; i < object->linkCount; i++) free(object->links[i].name);
    free(object->links);
    object->links = NULL;
    object->linkCount = 0;
}

static void scan_directory(int o, const char *path, int everythingDurable);

/// The object a directory entry names, registered if new: durable as it is now when
/// `everythingDurable` (at start), else never synced.
static int object_for(const char *path, const struct stat *st, int everythingDurable) {
    int child = find_live(st->st_ino);
    if (child >= 0) return child;
    child = new_object(st->st_ino, S_ISDIR(st->st_mode));
    if (everythingDurable) {
        if (S_ISDIR(st->st_mode)) scan_directory(child, path, 1);
        else snapshot_file(child, path);
    }
    return child;
}

/// The directory's current listing becomes its durable listing.
static void scan_directory(int o, const char *path, int everythingDurable) {
    DIR *directory = opendir(path);
    if (!directory) return;
    Link *links = NULL;
    size_t count = 0, capacity = 0;
    struct dirent *entry;
    while ((entry = readdir(directory))) {
        if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, "..")) continue;
        struct stat st;
        if (fstatat(dirfd(directory), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) continue;
        char child[PATH_MAX];
        snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
        int object = object_for(child, &st, everythingDurable);
        if (count == capacity) links = realloc(links, (capacity = capacity ? capacity * 2 : 16) * sizeof(Link));
        links[count].name = strdup(entry->d_name);
        links[count].object = object;
        count++;
    }
    closedir(directory);
    free_links(&objects[o]);
    objects[o].links = links;
    objects[o].linkCount = count;
}

static void fd_path(int fd, char *path, size_t size) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, size - 1);
    path[n > 0 ? n : 0] = 0;
}

static int under_root(const char *path) {
    size_t n = strlen(S.root);
    return strncmp(path, S.root, n) == 0 && (path[n] == '/' || path[n] == 0);
}

/// The modelled object `fd` refers to, or -1.
static int watched(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_dev != S.device) return -1;
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return -1;
    return find_live(st.st_ino);
}

// MARK: - The state after a power cut

static void emit_directory(int o, const char *out, const char *real, int torn, int depth);

static void emit_file(int o, const char *out, int torn) {
    Object *object = &objects[o];
    size_t length = object->length;
    unsigned char *bytes = malloc(length ? length : 1);
    if (length) memcpy(bytes, object->bytes, length);
    if (torn) {
        for (size_t i = 0; i < object->opCount; i++) {
            Op *op = &object->ops[i];
            if (op->truncate) {
                if (!coin()) continue;
                size_t size = (size_t)op->offset;
                bytes = realloc(bytes, size ? size : 1);
                if (size > length) memset(bytes + length, 0, size - length);
                length = size;
                continue;
            }
            size_t start = (size_t)op->offset, end = start + op->length;
            for (size_t sector = start - start % SECTOR; sector < end; sector += SECTOR) {
                if (!coin()) continue;
                size_t from = sector > start ? sector : start;
                size_t to = sector + SECTOR < end ? sector + SECTOR : end;
                if (to > length) {
                    bytes = realloc(bytes, to);
                    memset(bytes + length, 0, to - length);
                    length = to;
                }
                memcpy(bytes + from, op->data + (from - start), to - from);
            }
        }
    }
    int fd = real_open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        size_t done = 0;
        while (done < length) {
            ssize_t n = real_write(fd, bytes + done, length - done);
            if (n <= 0) break;
            done += (size_t)n;
        }
        close(fd);
    }
    free(bytes);
}

static void emit_link(int object, const char *name, const char *out, const char *real, int torn, int depth) {
    char childOut[PATH_MAX], childReal[PATH_MAX];
    snprintf(childOut, sizeof childOut, "%s/%s", out, name);
    snprintf(childReal, sizeof childReal, "%s/%s", real, name);
    if (objects[object].directory) {
        real_mkdir(childOut, 0700);
        emit_directory(object, childOut, childReal, torn, depth + 1);
    } else {
        emit_file(object, childOut, torn);
    }
}

static void emit_directory(int o, const char *out, const char *real, int torn, int depth) {
    if (depth > 16) return;
    if (torn && coin()) {
        // The directory's current listing made it to the disk (its objects' bytes did not
        // necessarily): the listing as it is now, of objects the model knows.
        DIR *directory = opendir(real);
        struct stat self;
        if (directory && fstat(dirfd(directory), &self) == 0 && self.st_ino == objects[o].ino) {
            struct dirent *entry;
            while ((entry = readdir(directory))) {
                if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, "..")) continue;
                struct stat st;
                if (fstatat(dirfd(directory), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
                if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) continue;
                int child = find_live(st.st_ino);
                if (child >= 0) emit_link(child, entry->d_name, out, real, torn, depth);
            }
            closedir(directory);
            return;
        }
        if (directory) closedir(directory);
    }
    for (size_t i = 0; i < objects[o].linkCount; i++)
        emit_link(objects[o].links[i].object, objects[o].links[i].name, out, real, torn, depth);
}

static void write_stats(const char *cut) {
    if (!S.stats[0]) return;
    int fd = real_open(S.stats, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    char line[128];
    int n = snprintf(line, sizeof line, "syncs %ld writes %ld cut %s\n", S.syncs, S.writes, cut);
    real_write(fd, line, (size_t)n);
    close(fd);
}

/// Writes the state after the power cut to FAULTFS_OUT, once.
static void materialise(int torn) {
    if (S.finished || !S.out[0]) return;
    S.finished = 1;
    if (real_mkdir(S.out, 0700) != 0) return;
    emit_directory(S.rootObject, S.out, S.root, torn, 0);
}

static void cut_now(int torn, const char *what) {
    materialise(torn);
    write_stats(what);
    kill(getpid(), SIGKILL);
    for (;;) pause();
}

// MARK: - Setup and exit

static void parse_count(const char *text, const char *prefix, long *at, int *sticky) {
    *at = atol(text + strlen(prefix));
    *sticky = strchr(text, '+') != NULL;
}

__attribute__((constructor)) static void start(void) {
    pthread_once(&resolved, resolve);
    const char *root = getenv("FAULTFS_ROOT");
    if (!root || !realpath(root, S.root)) return;
    struct stat st;
    if (stat(S.root, &st) != 0 || !S_ISDIR(st.st_mode)) return;
    S.device = st.st_dev;
    const char *out = getenv("FAULTFS_OUT");
    if (out) snprintf(S.out, sizeof S.out, "%s", out);
    const char *stats = getenv("FAULTFS_STATS");
    if (stats) snprintf(S.stats, sizeof S.stats, "%s", stats);
    const char *seed = getenv("FAULTFS_SEED");
    S.random = (seed ? strtoull(seed, NULL, 10) : 1) * 2654435761u + 88172645463325252ull;
    int ignored;
    const char *cut = getenv("FAULTFS_CUT");
    if (cut && !strncmp(cut, "sync:", 5)) { S.cut = CUT_SYNC; parse_count(cut, "sync:", &S.cutAt, &ignored); }
    else if (cut && !strncmp(cut, "write:", 6)) { S.cut = CUT_WRITE; parse_count(cut, "write:", &S.cutAt, &ignored); }
    else if (cut && !strcmp(cut, "exit")) S.cut = CUT_EXIT;
    const char *fail = getenv("FAULTFS_FAIL");
    if (fail) {
        if (!strncmp(fail, "sync:", 5)) { S.failKind = KIND_SYNC; parse_count(fail, "sync:", &S.failAt, &S.failSticky); }
        else if (!strncmp(fail, "write:", 6)) { S.failKind = KIND_WRITE; parse_count(fail, "write:", &S.failAt, &S.failSticky); }
        S.failErrno = strstr(fail, "ENOSPC") ? ENOSPC : EIO;
    }
    S.rootObject = new_object(st.st_ino, 1);
    scan_directory(S.rootObject, S.root, 1);
    S.active = 1;
}

__attribute__((destructor)) static void finish(void) {
    if (!S.active) return;
    pthread_mutex_lock(&mutex);
    if (S.cut != CUT_NONE) materialise(0);
    write_stats(S.cut == CUT_NONE ? "none" : "exit");
    S.active = 0;
    pthread_mutex_unlock(&mutex);
}

// MARK: - Interception

static int should_fail(enum Kind kind, long n) {
    return S.failKind == kind && (n == S.failAt || (S.failSticky && n > S.failAt));
}

/// Called after a successful open or mkdir of `fd`/`path` that `created` (or not).
static void opened(int fd, const char *path, int created, int directory) {
    if (!S.active || inside) return;
    inside = 1;
    pthread_mutex_lock(&mutex);
    struct stat st;
    int ok = fd >= 0 ? fstat(fd, &st) == 0 : stat(path, &st) == 0;
    if (ok && st.st_dev == S.device && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
        char real[PATH_MAX];
        if (fd >= 0) fd_path(fd, real, sizeof real);
        else if (!realpath(path, real)) real[0] = 0;
        if (under_root(real)) {
            if (created) new_object(st.st_ino, directory);
            else if (find_live(st.st_ino) < 0) object_for(real, &st, 1);
        }
    }
    pthread_mutex_unlock(&mutex);
    inside = 0;
}

static int exists_at(int dirfd, const char *path) {
    struct stat st;
    return fstatat(dirfd, path, &st, 0) == 0;
}

static int open_common(int dirfd, const char *path, int flags, mode_t mode) {
    pthread_once(&resolved, resolve);
    int existed = (flags & O_CREAT) && S.active && !inside ? exists_at(dirfd, path) : 1;
    int fd = real_openat(dirfd, path, flags, mode);
    if (fd >= 0 && S.active && !inside) opened(fd, path, !existed, 0);
    return fd;
}

static mode_t mode_argument(int flags, va_list arguments) {
    return (flags & (O_CREAT | __O_TMPFILE)) ? (mode_t)va_arg(arguments, int) : 0;
}

int open(const char *path, int flags, ...) {
    va_list a; va_start(a, flags); mode_t m = mode_argument(flags, a); va_end(a);
    return open_common(AT_FDCWD, path, flags, m);
}
int open64(const char *path, int flags, ...) {
    va_list a; va_start(a, flags); mode_t m = mode_argument(flags, a); va_end(a);
    return open_common(AT_FDCWD, path, flags, m);
}
int openat(int dirfd, const char *path, int flags, ...) {
    va_list a; va_start(a, flags); mode_t m = mode_argument(flags, a); va_end(a);
    return open_common(dirfd, path, flags, m);
}
int openat64(int dirfd, const char *path, int flags, ...) {
    va_list a; va_start(a, flags); mode_t m = mode_argument(flags, a); va_end(a);
    return open_common(dirfd, path, flags, m);
}
int __open_2(const char *path, int flags) { return open_common(AT_FDCWD, path, flags, 0); }
int __open64_2(const char *path, int flags) { return open_common(AT_FDCWD, path, flags, 0); }
int __openat_2(int dirfd, const char *path, int flags) { return open_common(dirfd, path, flags, 0); }
int __openat64_2(int dirfd, const char *path, int flags) { return open_common(dirfd, path, flags, 0); }
int creat(const char *path, mode_t mode) { return open_common(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode); }
int creat64(const char *path, mode_t mode) { return open_common(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode); }

int mkdirat(int dirfd, const char *path, mode_t mode) {
    pthread_once(&resolved, resolve);
    int result = real_mkdirat(dirfd, path, mode);
    if (result == 0 && S.active && !inside) {
        char full[2 * PATH_MAX + 2];
        if (path[0] == '/' || dirfd == AT_FDCWD) snprintf(full, sizeof full, "%s", path);
        else { char base[PATH_MAX]; fd_path(dirfd, base, sizeof base); snprintf(full, sizeof full, "%s/%s", base, path); }
        opened(-1, full, 1, 1);
    }
    return result;
}
int mkdir(const char *path, mode_t mode) { return mkdirat(AT_FDCWD, path, mode); }

/// Before a write of `length` bytes at `offset` (-1: the file position) to `fd`: counts it,
/// fails it or cuts power. Returns the modelled object (or -1), and sets *fail to an errno.
static int before_write(int fd, off_t *offset, const void *data, size_t length, int *fail) {
    *fail = 0;
    if (!S.active || inside) return -1;
    pthread_mutex_lock(&mutex);
    int o = watched(fd);
    if (o < 0 || objects[o].directory) { pthread_mutex_unlock(&mutex); return -1; }
    long n = ++S.writes;
    if (should_fail(KIND_WRITE, n)) { *fail = S.failErrno; pthread_mutex_unlock(&mutex); return -1; }
    if (*offset < 0) {
        int flags = fcntl(fd, F_GETFL);
        struct stat st;
        *offset = (flags & O_APPEND) && fstat(fd, &st) == 0 ? st.st_size : lseek(fd, 0, SEEK_CUR);
    }
    if (S.cut == CUT_WRITE && n == S.cutAt) {
        if (data) add_op(o, *offset, data, length, 0);
        else add_op(o, *offset, NULL, 0, 1);
        cut_now(1, "write");
    }
    pthread_mutex_unlock(&mutex);
    return o;
}

static void after_write(int o, off_t offset, const void *data, ssize_t written) {
    if (o < 0 || written <= 0) return;
    pthread_mutex_lock(&mutex);
    add_op(o, offset, data, (size_t)written, 0);
    pthread_mutex_unlock(&mutex);
}

ssize_t write(int fd, const void *data, size_t length) {
    pthread_once(&resolved, resolve);
    off_t offset = -1;
    int fail;
    int o = before_write(fd, &offset, data, length, &fail);
    if (fail) { errno = fail; return -1; }
    ssize_t n = real_write(fd, data, length);
    after_write(o, offset, data, n);
    return n;
}

ssize_t pwrite(int fd, const void *data, size_t length, off_t at) {
    pthread_once(&resolved, resolve);
    off_t offset = at;
    int fail;
    int o = before_write(fd, &offset, data, length, &fail);
    if (fail) { errno = fail; return -1; }
    ssize_t n = real_pwrite(fd, data, length, at);
    after_write(o, offset, data, n);
    return n;
}
ssize_t pwrite64(int fd, const void *data, size_t length, off_t at) { return pwrite(fd, data, length, at); }

static unsigned char *gather(const struct iovec *vector, int count, size_t *length) {
    size_t total = 0;
    for (int i = 0; i < count; i++) total += vector[i].iov_len;
    unsigned char *buffer = malloc(total ? total : 1);
    size_t at = 0;
    for (int i = 0; i < count; i++) { memcpy(buffer + at, vector[i].iov_base, vector[i].iov_len); at += vector[i].iov_len; }
    *length = total;
    return buffer;
}

ssize_t writev(int fd, const struct iovec *vector, int count) {
    pthread_once(&resolved, resolve);
    if (!S.active || inside || watched(fd) < 0) return real_writev(fd, vector, count);
    size_t length;
    unsigned char *buffer = gather(vector, count, &length);
    ssize_t n = write(fd, buffer, length);
    free(buffer);
    return n;
}

ssize_t pwritev(int fd, const struct iovec *vector, int count, off_t at) {
    pthread_once(&resolved, resolve);
    if (!S.active || inside || watched(fd) < 0) return real_pwritev(fd, vector, count, at);
    size_t length;
    unsigned char *buffer = gather(vector, count, &length);
    ssize_t n = pwrite(fd, buffer, length, at);
    free(buffer);
    return n;
}
ssize_t pwritev64(int fd, const struct iovec *vector, int count, off_t at) { return pwritev(fd, vector, count, at); }

int ftruncate(int fd, off_t length) {
    pthread_once(&resolved, resolve);
    off_t offset = length;
    int fail;
    int o = before_write(fd, &offset, NULL, 0, &fail);
    if (fail) { errno = fail; return -1; }
    int result = real_ftruncate(fd, length);
    if (result == 0 && o >= 0) {
        pthread_mutex_lock(&mutex);
        add_op(o, length, NULL, 0, 1);
        pthread_mutex_unlock(&mutex);
    }
    return result;
}
int ftruncate64(int fd, off_t length) { return ftruncate(fd, length); }

static int sync_common(int fd, int (*real)(int)) {
    pthread_once(&resolved, resolve);
    if (!S.active || inside) return real(fd);
    pthread_mutex_lock(&mutex);
    int o = watched(fd);
    if (o < 0) { pthread_mutex_unlock(&mutex); return real(fd); }
    long n = ++S.syncs;
    if (should_fail(KIND_SYNC, n)) { pthread_mutex_unlock(&mutex); errno = S.failErrno; return -1; }
    if (S.cut == CUT_SYNC && n == S.cutAt) cut_now(0, "sync");
    // What the sync makes durable is what is there when it starts. The file is read through
    // /proc, which reaches it even when it was opened write-only or has been unlinked.
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    inside = 1;
    if (objects[o].directory) scan_directory(o, path, 0);
    else snapshot_file(o, path);
    inside = 0;
    pthread_mutex_unlock(&mutex);
    return real(fd);
}

int fsync(int fd) { return sync_common(fd, real_fsync); }
int fdatasync(int fd) { return sync_common(fd, real_fdatasync); }
