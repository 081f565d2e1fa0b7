/*
 * bunc's executor: the only C in bunc. It runs a *setup program* that
 * TypeScript compiled from config.json (src/plan/) in the child of clone3,
 * between clone3 and execve.
 *
 * Rules (see ARCHITECTURE.md):
 *  - No JavaScript ever runs in the forked child: Bun's process is
 *    multithreaded and its runtime state is not fork-safe. This file is
 *    compiled by bun:ffi `cc` (TinyCC) and called once from JS; the child
 *    never returns from bunc_spawn().
 *  - Policy-free: every decision (order, paths, flags) is made in TypeScript.
 *    This file only executes operations, in order.
 *  - Async-signal-safe only: raw syscall instructions (not even libc's
 *    syscall(), whose errno is the parent thread's when memory is shared),
 *    no malloc, no stdio. Strings and arrays live in the program buffer.
 *  - With CLONE_VM (TypeScript decides when: see src/plan/share-memory.ts)
 *    the child shares the parent's memory until execve, on a stack of its
 *    own and a private copy of the program: a fork of Bun's large address
 *    space costs ~1 ms of page-table copying and as much again to tear the
 *    copy down at execve.
 *  - A failure is reported to the parent as (operation index, errno) on the
 *    sync socket, then the child exits. The socket is CLOEXEC, so a clean
 *    execve closes it and the parent reads EOF.
 *
 * TinyCC has no system headers on a bare host: the types, constants and
 * syscall numbers below are declared here (x86_64 only for now).
 */

#ifndef __x86_64__
#error "bunc's executor knows only x86_64 syscall numbers"
#endif

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef int i32;
typedef unsigned long u64;
typedef long i64;

/* x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl) */
#define SYS_read 0
#define SYS_write 1
#define SYS_close 3
#define SYS_fstat 5
#define SYS_fchown 93
#define SYS_getcwd 79
#define SYS_kill 62
#define SYS_clone 56
#define SYS_rt_sigaction 13
#define SYS_rt_sigprocmask 14
#define SYS_dup3 292
#define SYS_pipe2 293
#define SYS_execve 59
#define SYS_exit_group 231
#define SYS_fcntl 72
#define SYS_chdir 80
#define SYS_fchdir 81
#define SYS_umask 95
#define SYS_setgroups 116
#define SYS_setresuid 117
#define SYS_setresgid 119
#define SYS_capset 126
#define SYS_pivot_root 155
#define SYS_prctl 157
#define SYS_chroot 161
#define SYS_mount 165
#define SYS_umount2 166
#define SYS_sethostname 170
#define SYS_setdomainname 171
#define SYS_openat 257
#define SYS_mkdirat 258
#define SYS_mknodat 259
#define SYS_fchownat 260
#define SYS_unlinkat 263
#define SYS_symlinkat 266
#define SYS_fchmodat 268
#define SYS_faccessat 269
#define SYS_ppoll 271
#define SYS_unshare 272
#define SYS_prlimit64 302
#define SYS_setns 308
#define SYS_statx 332
#define SYS_waitid 247
#define SYS_open_tree 428
#define SYS_move_mount 429
#define SYS_clone3 435
#define SYS_close_range 436
#define SYS_openat2 437
#define SYS_mount_setattr 442
#define SYS_ioctl 16
#define SYS_sendmsg 46
#define SYS_recvmsg 47
#define SYS_setsid 112
#define SYS_socket 41
#define SYS_getdents64 217
#define SYS_readlinkat 267

#define AT_FDCWD -100
#define AT_EMPTY_PATH 0x1000
#define AT_RECURSIVE 0x8000
#define AT_EACCESS 0x200
#define O_RDONLY 0
#define O_WRONLY 1
#define O_CREAT 0100
#define O_EXCL 0200
#define O_TRUNC 01000
#define O_DIRECTORY 0200000
#define O_NOFOLLOW 0400000
#define O_CLOEXEC 02000000
#define O_PATH 010000000
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_IN_ROOT 0x10
#define OPEN_TREE_CLONE 1
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#define MOVE_MOUNT_F_EMPTY_PATH 0x04
#define MOVE_MOUNT_T_EMPTY_PATH 0x40
#define MS_RDONLY 1
#define MS_REMOUNT 32
#define MS_BIND 4096
#define MS_MOVE 8192
#define MS_REC 16384
#define MNT_DETACH 2
#define UMOUNT_NOFOLLOW 8
#define MS_SLAVE (1 << 19)
#define CLONE_VM 0x00000100
#define CLONE_PARENT 0x00008000
#define CLONE_PIDFD 0x00001000
#define CLONE_INTO_CGROUP 0x200000000UL
#define SIGCHLD 17
#define F_SETFD 2
#define CLOSE_RANGE_CLOEXEC 4
#define PR_SET_PDEATHSIG 1
#define PR_SET_DUMPABLE 4
#define PR_SET_KEEPCAPS 8
#define PR_CAPBSET_DROP 24
#define PR_SET_NO_NEW_PRIVS 38
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#define LINUX_CAPABILITY_VERSION_3 0x20080522
#define STATX_TYPE 1
#define STATX_MODE 2
#define S_IFMT 0170000
#define S_IFREG 0100000
#define S_IFDIR 0040000
#define X_OK 1
#define EINTR 4
#define ENOENT 2
#define EEXIST 17
#define EINVAL 22
#define EXDEV 18
#define EPERM 1
#define ENOSYS 38
#define EACCES 13
#define EROFS 30
#define EBADF 9
#define P_PIDFD 3
#define WEXITED 4
#define WNOHANG 1
#define POLLIN 1

/* Operation codes: keep in step with src/plan/program.ts (Op). */
enum {
  OP_SETNS = 1,        /* fd: namespace fd, n0: CLONE_NEW* type */
  OP_UNSHARE,          /* n0: CLONE_NEW* flags */
  OP_SYNC,             /* tell the parent n0 (a Msg), wait for its reply */
  OP_FORK,             /* clone3(CLONE_PARENT): the child goes on, the caller reports its pid and exits */
  OP_PDEATHSIG,        /* n0: signal, 0 to clear */
  OP_MOUNT,            /* s0 source, s1 target in root, s2 fstype, s3 data; n0 flags, n1 create kind */
  OP_BIND,             /* s0 source (host), s1 target in root; n0 BIND_* (BIND_IDMAP: the parent idmaps the tree); n1 attr_set; n2 attr_clr; n3 propagation; n4 create kind; fd: the parent's clone of s0, used when ours is refused, or -1 */
  OP_PROPAGATE,        /* s1 target in root (or s0 absolute); n0 MS_* propagation flags */
  OP_SET_ROOT,         /* s0: absolute path of the rootfs; binds it onto itself, opens it as the root for later ops */
  OP_MKNOD,            /* s1 target in root; n0 mode (with S_IF*), n1 dev, n2 uid, n3 gid */
  OP_SYMLINK,          /* s0 link target, s1 link path in root */
  OP_MASK,             /* s1 path in root: /dev/null over a file, read-only tmpfs over a directory */
  OP_READONLY,         /* s1 path in root: bind onto itself, read-only */
  OP_PIVOT_ROOT,       /* n0: 1 = no pivot (MS_MOVE + chroot), 2 = chroot only (no mount namespace of its own) */
  OP_SETHOSTNAME,      /* s0 */
  OP_SETDOMAINNAME,    /* s0 */
  OP_WRITE_FILE,       /* s0 absolute path, s1 content */
  OP_SETRLIMIT,        /* n0 resource, n1 soft, n2 hard */
  OP_CHDIR,            /* s0; n0: CHDIR_MUST, CHDIR_EARLY (refused: retried by CHDIR_LATE) or CHDIR_LATE */
  OP_UMASK,            /* n0 */
  OP_SETGROUPS,        /* n0: offset of a u32 array, n1: count */
  OP_SETRESGID,        /* n0 */
  OP_SETRESUID,        /* n0 */
  OP_KEEPCAPS,         /* n0: 0 or 1 */
  OP_CAPBSET,          /* n0: bounding set to keep (bit mask); drops the rest */
  OP_CAPSET,           /* n0 effective, n1 permitted, n2 inheritable */
  OP_AMBIENT,          /* n0: ambient set to raise */
  OP_NO_NEW_PRIVS,
  OP_LOOKUP,           /* n0: offset of a NULL-ended table of candidate paths; first executable file wins */
  OP_READY,            /* tell the parent the container waits for start (no reply) */
  OP_FIFO_WAIT,        /* fd: state dir, s0: fifo name; blocks until `start` opens it */
  OP_CLOSE_FDS,        /* n0: first fd to mark CLOEXEC; fds 3..n0-1 are preserved (CLOEXEC cleared) */
  OP_EXEC,             /* n0: argv table offset, n1: envp table offset; path from OP_LOOKUP */
  OP_SECCOMP,          /* n0: offset of a sock_fprog's filter, n1: instruction count, n2: flags, n3: MSG_SECCOMP(_FD) or 0 */
  OP_CLOSE,            /* fd */
  OP_WRITE_FD,         /* fd, s1 content: write to an fd the parent opened (e.g. a /proc file) */
  OP_ROOT_RDONLY,      /* make the root's own mount read-only (not its submounts) */
  OP_KEYRING,          /* s0: name of a new session keyring to join */
  OP_MKDIR,            /* s1: directory in root to create (with its parents) */
  OP_CONSOLE,          /* fd: console socket; n0 rows, n1 columns, n2 bind it on /dev/console, n3 clear ONLCR: make a pty, send its master, make it our terminal */
  OP_HOOK,             /* s0 path, s1/s2 head and tail of the message for stderr on failure; fd: state (stdin); n0 argv, n1 envp tables, n2 timeout (s, 0: none), n3 signal texts (1..) */
  OP_SYSCTL,           /* s0 path under the container's /proc ("sys/..."), s1 value */
  OP_PERSONALITY,      /* n0 persona */
  OP_SCHEDULER,        /* n0 offset of a struct sched_attr, n1 its size */
  OP_IOPRIO,           /* n0 ioprio value */
  OP_AFFINITY,         /* n0 offset of a CPU mask, n1 its size in bytes */
  OP_LOOPBACK_UP,      /* bring "lo" up in the current network namespace */
  OP_SETATTR,          /* s1 mount point in root; n0 MOUNT_ATTR_* to set, n1 to clear, on it and every mount under it (n2 = 1: on it only) */
  OP_DUMPABLE,         /* n0: PR_SET_DUMPABLE value */
  OP_LSM_ATTR,         /* s0 attr file under /proc/thread-self ("attr/exec"), s1 fallback or NULL, s2 value */
  OP_MEMPOLICY,        /* n0 mode | flags, n1 offset of the node mask (0: none), n2 maxnode */
  OP_SETXATTR,         /* s1 path in the root (must exist), s2 attribute name, s3 value */
  OP_STDIO_OWNER = 60, /* n0 uid: chown stdio (not /dev/null) to it, keeping the group */
  OP_VERIFY_CWD = 61,  /* fail unless getcwd(2) sees the cwd inside the root */
  OP_HIDE_MOUNT = 70,  /* s0 absolute path of a mount outside the root: detach it, or cover it with a tmpfs */
};

/* Messages on the sync socket, both ways: keep in step with src/plan/program.ts (Msg). */
enum { MSG_ERROR = 1, MSG_PID, MSG_READY, MSG_USERMAP, MSG_GO, MSG_SECCOMP, MSG_HOOKS, MSG_READY_TO_JOIN, MSG_IDMAP, MSG_SECCOMP_FD };

struct op { u32 code; i32 fd; u32 s[4]; u64 n[5]; };
struct header { u32 magic; u32 nops; u32 ops_off; u32 size; i32 sync_fd; i32 pad; };
struct msg { i32 type; i32 op; i32 err; i32 pid; };

#define PROGRAM_MAGIC 0x62756e63 /* "bunc" */

struct clone_args {
  u64 flags; u64 pidfd; u64 child_tid; u64 parent_tid; u64 exit_signal;
  u64 stack; u64 stack_size; u64 tls; u64 set_tid; u64 set_tid_size; u64 cgroup;
};
struct open_how { u64 flags; u64 mode; u64 resolve; };
struct mount_attr { u64 attr_set; u64 attr_clr; u64 propagation; u64 userns_fd; };
struct cap_header { u32 version; i32 pid; };
struct cap_data { u32 effective; u32 permitted; u32 inheritable; };
struct rlimit64 { u64 cur; u64 max; };
struct kernel_sigaction { u64 handler; u64 flags; u64 restorer; u64 mask; };

/* The child's registers: the root directory fd, the program to execve, the sync socket and the running op. */
static long root_fd = AT_FDCWD;
static long sync_sock = -1;
static i32 op_index;
static const char *exec_path;
/* CHDIR_EARLY was refused (EACCES/EPERM): CHDIR_LATE tries again as the container's user. */
static long cwd_pending;

/* One system call; returns its result or -errno (the kernel's own convention). */
static long sys(long n, long a, long b, long c, long d, long e, long f)
{
  long r;
  __asm__ __volatile__(
    "mov %5, %%r10\n\t"
    "mov %6, %%r8\n\t"
    "mov %7, %%r9\n\t"
    "syscall"
    : "=a"(r)
    : "0"(n), "D"(a), "S"(b), "d"(c), "r"(d), "r"(e), "r"(f)
    : "rcx", "r8", "r9", "r10", "r11", "memory");
  return r;
}
#define SYS0(n) sys(n, 0, 0, 0, 0, 0, 0)
#define SYS1(n, a) sys(n, (long)(a), 0, 0, 0, 0, 0)
#define SYS2(n, a, b) sys(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define SYS3(n, a, b, c) sys(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define SYS4(n, a, b, c, d) sys(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define SYS5(n, a, b, c, d, e) sys(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

static void die(void) { for (;;) SYS1(SYS_exit_group, 1); }

static long full_write(long fd, const void *buf, long len)
{
  const char *p = buf;
  while (len > 0) {
    long r = SYS3(SYS_write, fd, p, len);
    if (r == -EINTR) continue;
    if (r < 0) return r;
    p += r; len -= r;
  }
  return 0;
}

static long full_read(long fd, void *buf, long len)
{
  char *p = buf;
  while (len > 0) {
    long r = SYS3(SYS_read, fd, p, len);
    if (r == -EINTR) continue;
    if (r <= 0) return r < 0 ? r : -32; /* EOF: the peer is gone (EPIPE) */
    p += r; len -= r;
  }
  return 0;
}

static long send_msg(long fd, i32 type, i32 op, i32 err, i32 pid)
{
  struct msg m;
  m.type = type; m.op = op; m.err = err; m.pid = pid;
  return full_write(fd, &m, sizeof m);
}

static long str_len(const char *s) { long n = 0; while (s[n]) n++; return n; }

/* "/proc/self/fd/N": mount(2) and friends act on an fd through this magic link. */
static const char *fd_path(char *buf, long fd)
{
  const char *prefix = "/proc/self/fd/";
  char digits[24];
  long n = 0, i = 0;
  do { digits[n++] = '0' + fd % 10; fd /= 10; } while (fd > 0);
  while (*prefix) buf[i++] = *prefix++;
  while (n > 0) buf[i++] = digits[--n];
  buf[i] = 0;
  return buf;
}

/*
 * Resolve path inside the root without ever leaving it: openat2(2)
 * RESOLVE_IN_ROOT treats symlinks and ".." as if the root were "/", and
 * RESOLVE_NO_MAGICLINKS refuses /proc/PID/fd-style jumps (CVE-2021-30465).
 */
static long resolve_how(const char *path, long flags, long extra)
{
  struct open_how how;
  how.flags = flags | O_CLOEXEC; how.mode = 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra;
  return SYS4(SYS_openat2, root_fd, path, &how, sizeof how);
}
#define resolve(path, flags) resolve_how(path, flags, no_symlinks)

/* How open_in_root creates a missing target; NO_SYMLINKS may be or-ed in. */
enum { MUST_EXIST = 0, CREATE_DIR = 1, CREATE_FILE = 2, NO_SYMLINKS = 4, COPY_UP = 8 };
#define RESOLVE_NO_SYMLINKS 0x04

/*
 * Open path inside the root as O_PATH, creating missing components (as
 * directories, the last one as a file when kind is CREATE_FILE). Each new
 * component is made with mkdirat on an fd of its already-resolved parent,
 * so no step can be redirected out of the root. A dangling symlink on the
 * way is followed inside the root, as runc's SecureJoin does: its target is
 * created there.
 */
static long open_in_root_at_depth(const char *path, long kind, long depth)
{
  char buf[4096], link[4096], next[4096];
  long fd, parent, len, i, start, n, k, rest;
  /* proc and sysfs go only on an ordinary directory, never through a symlink (CVE-2019-19921). */
  long no_symlinks = (kind & NO_SYMLINKS) ? RESOLVE_NO_SYMLINKS : 0;
  long create = kind & 3;
  if (depth > 40) return -40; /* ELOOP */
  fd = resolve(path, O_PATH);
  if (fd != -ENOENT || create == MUST_EXIST) return fd;
  len = str_len(path);
  if (len >= (long)sizeof buf) return -36; /* ENAMETOOLONG */
  for (i = 0; i <= len; i++) buf[i] = path[i];
  parent = resolve_how("/", O_PATH | O_DIRECTORY, 0);
  if (parent < 0) return parent;
  i = 0;
  while (i < len) {
    while (i < len && buf[i] == '/') i++;
    if (i >= len) break;
    start = i;
    while (i < len && buf[i] != '/') i++;
    buf[i] = 0;
    fd = resolve(buf, O_PATH);
    if (fd == -ENOENT) {
      long r;
      if (i >= len && create == CREATE_FILE) {
        r = SYS4(SYS_openat, parent, buf + start, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (r >= 0) SYS1(SYS_close, r);
      } else {
        r = SYS3(SYS_mkdirat, parent, buf + start, 0755);
      }
      if (r < 0 && r != -EEXIST && r != -40) { SYS1(SYS_close, parent); return r; }
      fd = resolve(buf, O_PATH);
      if (fd == -ENOENT && !no_symlinks) {
        /* A dangling symlink: go on from its target, re-rooted in the root. */
        n = SYS4(267 /* readlinkat */, parent, buf + start, link, sizeof link - 1);
        SYS1(SYS_close, parent);
        if (n < 0) return n;
        link[n] = 0;
        k = 0;
        if (link[0] != '/') for (k = 0; k < start; k++) next[k] = buf[k];
        for (n = 0; link[n] && k < (long)sizeof next - 1; n++) next[k++] = link[n];
        for (rest = i; rest < len && k < (long)sizeof next - 1; rest++) next[k++] = rest == i ? '/' : buf[rest];
        next[k] = 0;
        return open_in_root_at_depth(next, kind, depth + 1);
      }
    }
    SYS1(SYS_close, parent);
    if (fd < 0) return fd;
    parent = fd;
    if (i < len) buf[i] = '/';
  }
  return parent;
}

static long open_in_root(const char *path, long kind)
{
  return open_in_root_at_depth(path, kind, 0);
}

/* Split path at its last '/' into an fd of the (created) parent and the base name. */
static long open_parent(const char *path, char *dir, const char **base)
{
  long n = str_len(path), i, cut = -1;
  if (n >= 4096) return -36;
  for (i = 0; i < n; i++) { dir[i] = path[i]; if (path[i] == '/') cut = i; }
  if (cut < 0) return -EINVAL;
  dir[cut == 0 ? 1 : cut] = 0;
  *base = path + cut + 1;
  return open_in_root(dir, CREATE_DIR);
}

/* Reopen an O_PATH directory fd for reading its entries. */
static long open_dir_fd(long fd)
{
  char p[64];
  return SYS4(SYS_openat, AT_FDCWD, fd_path(p, fd), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
}

struct dirent64 { u64 ino; i64 off; u16 reclen; u8 type; char name[1]; };
#define STATX_BASIC_STATS 0x7ff
#define AT_SYMLINK_NOFOLLOW 0x100

/*
 * Copy the tree under directory fd from into directory fd to: files, directories,
 * symlinks and special files with their mode and owner (runc's tmpcopyup,
 * fileutils.CopyDirectory). Nothing is followed: symlinks are copied as links.
 */
static long copy_tree(long from, long to, long depth)
{
  char ents[2048], stx[256], link[4096], buf[8192];
  long n, off, r = 0, a, b, len;
  u16 mode;
  if (depth > 64) return -40; /* ELOOP */
  while ((n = SYS3(SYS_getdents64, from, ents, sizeof ents)) > 0) {
    for (off = 0; off < n && r == 0; off += ((struct dirent64 *)(ents + off))->reclen) {
      const char *name = ((struct dirent64 *)(ents + off))->name;
      if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
      r = SYS5(SYS_statx, from, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, stx);
      if (r < 0) break;
      mode = *(u16 *)(stx + 28);
      if ((mode & S_IFMT) == S_IFDIR) {
        r = SYS3(SYS_mkdirat, to, name, mode & 07777);
        if (r == -EEXIST) r = 0;
        if (r < 0) break;
        a = SYS4(SYS_openat, from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
        b = SYS4(SYS_openat, to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
        r = a < 0 ? a : b < 0 ? b : copy_tree(a, b, depth + 1);
        if (a >= 0) SYS1(SYS_close, a);
        if (b >= 0) SYS1(SYS_close, b);
      } else if ((mode & S_IFMT) == S_IFREG) {
        a = SYS4(SYS_openat, from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
        b = a < 0 ? a : SYS4(SYS_openat, to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
        r = a < 0 ? a : b;
        while (r >= 0 && (len = SYS3(SYS_read, a, buf, sizeof buf)) != 0) r = len < 0 ? len : full_write(b, buf, len);
        if (a >= 0) SYS1(SYS_close, a);
        if (b >= 0) SYS1(SYS_close, b);
      } else if ((mode & S_IFMT) == 0120000) {
        len = SYS4(SYS_readlinkat, from, name, link, sizeof link - 1);
        if (len < 0) { r = len; break; }
        link[len] = 0;
        r = SYS3(SYS_symlinkat, link, to, name);
      } else {
        a = *(u32 *)(stx + 128); b = *(u32 *)(stx + 132); /* rdev major, minor: the kernel's new_encode_dev */
        r = SYS4(SYS_mknodat, to, name, mode, (b & 0xff) | (a << 8) | ((b & ~0xffL) << 12));
      }
      if (r >= 0) r = SYS5(SYS_fchownat, to, name, *(u32 *)(stx + 20), *(u32 *)(stx + 24), AT_SYMLINK_NOFOLLOW);
      /* chown clears set-id bits: put the mode back (not on symlinks, whose mode is fixed). */
      if (r >= 0 && (mode & S_IFMT) != 0120000) r = SYS4(SYS_fchmodat, to, name, mode & 07777, 0);
    }
    if (r < 0) return r;
  }
  return n < 0 ? n : 0;
}

static long do_mount(const char *src, const char *target, const char *type, u64 flags, const char *data, long kind)
{
  char p[64];
  long fd, r, below = -1, above;
  /* Keep the directory about to be covered open: its entries stay readable under the mount. */
  if (kind & COPY_UP) {
    fd = open_in_root(target, MUST_EXIST);
    if (fd >= 0) { below = open_dir_fd(fd); SYS1(SYS_close, fd); }
  }
  fd = open_in_root(target, kind & ~COPY_UP);
  if (fd < 0) { if (below >= 0) SYS1(SYS_close, below); return fd; }
  r = SYS5(SYS_mount, src, fd_path(p, fd), type, flags, data);
  SYS1(SYS_close, fd);
  if (r == 0 && below >= 0) {
    fd = open_in_root(target, MUST_EXIST);
    above = fd < 0 ? fd : open_dir_fd(fd);
    if (fd >= 0) SYS1(SYS_close, fd);
    r = above < 0 ? above : copy_tree(below, above, 0);
    if (above >= 0) SYS1(SYS_close, above);
  }
  if (below >= 0) SYS1(SYS_close, below);
  return r;
}

enum { BIND_RECURSIVE = 1, BIND_PROPAGATION_RECURSIVE = 4, BIND_IDMAP = 8 };
static long send_fd(long sock, long fd, const char *name);

static long set_attr(long tree, u64 set, u64 clr, u64 flags)
{
  struct mount_attr attr;
  if (!(set | clr)) return 0;
  attr.attr_set = set; attr.attr_clr = clr; attr.propagation = 0; attr.userns_fd = 0;
  return SYS5(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | flags, &attr, sizeof attr);
}

/*
 * Bind mounts use the new mount API: open_tree(2) clones the source,
 * mount_setattr(2) sets its flags while it is still detached (so no
 * remount of a locked mount is needed), move_mount(2) attaches it onto an
 * fd already resolved inside the root. set and clr carry MOUNT_ATTR_* for
 * the top mount in their low 32 bits, for the whole tree in the high 32.
 *
 * BIND_IDMAP: the detached tree goes to the parent, which idmaps it and
 * answers GO. MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN in the user namespace of
 * the source's superblock (the initial one for a host path), which this
 * process has lost once it is in the container's user namespace; and
 * move_mount(2) takes a tree cloned by open_tree(2) only into the mount
 * namespace it was cloned in (Linux 6.15), so the clone must happen here.
 */
static long do_bind(const char *src, const char *target, u64 how, u64 set, u64 clr, u64 prop, long kind, long cloned)
{
  struct mount_attr attr;
  struct msg m;
  long tree, fd, r;
  tree = SYS3(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((how & BIND_RECURSIVE) ? AT_RECURSIVE : 0));
  /* A source this user namespace's root may not reach: the clone the parent made
   * before the namespace existed (src/container/bind-sources.ts), as runc opens
   * bind sources before joining it (a tree cloned in bunc's mount namespace does
   * attach in this one). Preferred second: our own clone keeps the submounts and
   * flags locked (mount_namespaces(7)), the parent's does not. */
  if ((tree == -13 /* EACCES */ || tree == -EPERM) && cloned >= 0 && !(how & BIND_IDMAP)) tree = cloned;
  if (tree < 0) return tree;
  if (how & BIND_IDMAP) {
    r = send_msg(sync_sock, MSG_IDMAP, op_index, 0, 0);
    if (r == 0) r = send_fd(sync_sock, tree, "idmap");
    if (r >= 0) r = full_read(sync_sock, &m, sizeof m);
    if (r == 0 && m.type != MSG_GO) r = -EINVAL;
    if (r < 0) { SYS1(SYS_close, tree); return r; }
  }
  r = set_attr(tree, set >> 32, clr >> 32, AT_RECURSIVE);
  if (r == 0) r = set_attr(tree, set & 0xffffffffUL, clr & 0xffffffffUL, 0);
  if (r < 0) { SYS1(SYS_close, tree); return r; }
  fd = open_in_root(target, kind);
  if (fd < 0) { SYS1(SYS_close, tree); return fd; }
  r = SYS5(SYS_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  SYS1(SYS_close, fd);
  if (r == 0 && prop) {
    attr.attr_set = 0; attr.attr_clr = 0; attr.propagation = prop; attr.userns_fd = 0;
    r = SYS5(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | ((how & BIND_PROPAGATION_RECURSIVE) ? AT_RECURSIVE : 0), &attr, sizeof attr);
  }
  SYS1(SYS_close, tree);
  return r;
}

/* struct stat of x86_64 fstat(2), the fields read here. */
struct kstat { u64 dev; u64 ino; u64 nlink; u32 mode; u32 uid; u32 gid; u32 pad; u64 rdev; u64 rest[12]; };

/*
 * The type of fd's file. It runs after the seccomp filter is loaded (the
 * program lookup), and profiles older than statx(2) (Linux 4.11) refuse it:
 * fstat(2), which every profile allows, answers for an O_PATH fd too.
 */
static long file_type(long fd)
{
  u8 stx[256];
  struct kstat st;
  long r = SYS5(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_TYPE, stx);
  if (r == 0) return *(u16 *)(stx + 28) & S_IFMT;
  if (r != -ENOSYS && r != -EPERM) return r;
  r = SYS2(SYS_fstat, fd, &st);
  return r < 0 ? r : (long)(st.mode & S_IFMT);
}

/* maskedPaths: hide a file behind /dev/null, a directory behind an empty read-only tmpfs. */
/*
 * The container's own /dev/null, checked to be the real device (1:3): a
 * rootfs could make it a symlink or a plain file, and a mask bound from it
 * would then expose or hide the wrong thing (CVE-2025-31133).
 */
static long open_dev_null(void)
{
  u8 stx[256];
  long fd = open_in_root("/dev/null", MUST_EXIST | NO_SYMLINKS), r;
  if (fd < 0) return fd;
  r = SYS5(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_TYPE, stx);
  if (r == 0 && ((*(u16 *)(stx + 28) & S_IFMT) != 0020000 || *(u32 *)(stx + 128) != 1 || *(u32 *)(stx + 132) != 3)) r = -EINVAL;
  if (r < 0) { SYS1(SYS_close, fd); return r; }
  return fd;
}

#define SYS_setxattr 188
/* An extended attribute of a file in the root (the SELinux label of an mqueue
 * mount, as runc's label.SetFileLabel): resolved inside the root, then set
 * through the fd's /proc path, so nothing outside the root is touched. */
static long do_setxattr(const char *target, const char *name, const char *value)
{
  char p[64];
  long fd = open_in_root(target, MUST_EXIST), r;
  if (fd < 0) return fd;
  r = SYS5(SYS_setxattr, fd_path(p, fd), name, value, str_len(value), 0);
  SYS1(SYS_close, fd);
  return r;
}

static long do_mask(const char *target, const char *tmpfs_data)
{
  char p[64], q[64];
  long fd = open_in_root(target, MUST_EXIST), type, r, null;
  if (fd == -ENOENT) return 0;
  if (fd < 0) return fd;
  type = file_type(fd);
  if (type == S_IFDIR) {
    r = SYS5(SYS_mount, "tmpfs", fd_path(p, fd), "tmpfs", MS_RDONLY, tmpfs_data ? tmpfs_data : "size=0");
  } else {
    null = open_dev_null();
    r = null < 0 ? null : SYS5(SYS_mount, fd_path(q, null), fd_path(p, fd), 0, MS_BIND, 0);
    if (null >= 0) SYS1(SYS_close, null);
  }
  SYS1(SYS_close, fd);
  return type < 0 ? type : r;
}

/* readonlyPaths: bind the path onto itself (recursively), read-only. */
static long do_readonly(const char *target)
{
  struct mount_attr attr;
  long fd = open_in_root(target, MUST_EXIST), tree, r;
  if (fd == -ENOENT) return 0;
  if (fd < 0) return fd;
  tree = SYS3(SYS_open_tree, fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
  if (tree < 0) { SYS1(SYS_close, fd); return tree; }
  attr.attr_set = 1 /* MOUNT_ATTR_RDONLY */; attr.attr_clr = 0; attr.propagation = 0; attr.userns_fd = 0;
  r = SYS5(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr);
  if (r == 0) r = SYS5(SYS_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  SYS1(SYS_close, tree);
  SYS1(SYS_close, fd);
  return r;
}

static long do_mknod(const char *path, u64 mode, u64 dev, u64 uid, u64 gid)
{
  char dir[4096];
  const char *base;
  long parent = open_parent(path, dir, &base), r;
  if (parent < 0) return parent;
  r = SYS4(SYS_mknodat, parent, base, mode, dev);
  /*
   * An existing entry is left alone, as runc: the rootfs may have made it a
   * symlink, and fchmodat(2) follows symlinks — out of the root, onto a host
   * file. The mode is set with fchmodat2 AT_SYMLINK_NOFOLLOW (Linux 6.6).
   */
  if (r == -EEXIST) { SYS1(SYS_close, parent); return 0; }
  if (r == 0) r = SYS5(SYS_fchownat, parent, base, uid, gid, 0x100 /* AT_SYMLINK_NOFOLLOW */);
  if (r == 0) {
    r = SYS4(452 /* fchmodat2 */, parent, base, mode & 07777, 0x100);
    if (r == -38 /* ENOSYS */) r = SYS3(SYS_fchmodat, parent, base, mode & 07777);
  }
  SYS1(SYS_close, parent);
  return r;
}

static long do_symlink(const char *target, const char *path)
{
  char dir[4096];
  const char *base;
  long parent = open_parent(path, dir, &base), r;
  if (parent < 0) return parent;
  r = SYS3(SYS_symlinkat, target, parent, base);
  SYS1(SYS_close, parent);
  return r == -EEXIST ? 0 : r;
}

/*
 * pivot_root(".", ".") stacks the old root on top of the new one; the
 * umount2(MNT_DETACH) then drops it (pivot_root(2), "NOTES"). The old root
 * was made a slave at the start, so the detach does not propagate to the host.
 */
static long do_pivot_root(u64 no_pivot)
{
  long r = SYS1(SYS_fchdir, root_fd);
  if (r < 0) return r;
  if (no_pivot == 2) {
    r = SYS1(SYS_chroot, ".");
  } else if (no_pivot) {
    r = SYS5(SYS_mount, ".", "/", 0, MS_MOVE, 0);
    if (r == 0) r = SYS1(SYS_chroot, ".");
  } else {
    r = SYS2(SYS_pivot_root, ".", ".");
    if (r == 0) r = SYS2(SYS_umount2, ".", MNT_DETACH);
  }
  if (r == 0) r = SYS1(SYS_chdir, "/");
  if (r == 0) { SYS1(SYS_close, root_fd); root_fd = AT_FDCWD; }
  return r;
}

/*
 * --no-pivot leaves the host's mounts under the moved rootfs, reachable in
 * this mount namespace: a full procfs or sysfs there lets a user namespace
 * made in the container mount a fresh one (the kernel's mount_too_revealing
 * check passes while one is fully visible). Detach it; a mount that is locked
 * (EINVAL) or not ours to unmount (EPERM) gets a tmpfs over it instead, which
 * a nested mount namespace inherits locked, so the procfs no longer counts as
 * fully visible. Made a slave first so that the detach never propagates to
 * the host (rootfsPropagation may be shared). ENOENT: an earlier detach took
 * a parent directory with it.
 */
static long do_hide_mount(const char *path)
{
  long r = SYS5(SYS_mount, 0, path, 0, MS_SLAVE | MS_REC, 0);
  if (r == -ENOENT) return 0;
  if (r < 0) return r;
  r = SYS2(SYS_umount2, path, MNT_DETACH | UMOUNT_NOFOLLOW);
  if (r == -EINVAL || r == -EPERM) r = SYS5(SYS_mount, "tmpfs", path, "tmpfs", 0, 0);
  return r;
}

static long do_write_file(const char *path, const char *content)
{
  long fd = SYS4(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC | O_TRUNC, 0), r;
  if (fd < 0) return fd;
  r = full_write(fd, content, str_len(content));
  SYS1(SYS_close, fd);
  return r;
}

static long do_capbset(u64 keep)
{
  long cap, r;
  for (cap = 0; cap < 64; cap++) {
    if (keep & (1UL << cap)) continue;
    r = SYS2(SYS_prctl, PR_CAPBSET_DROP, cap);
    if (r == -EINVAL) break; /* past this kernel's last capability */
    if (r < 0) return r;
  }
  return 0;
}

static long do_capset(u64 eff, u64 prm, u64 inh)
{
  struct cap_header h;
  struct cap_data d[2];
  h.version = LINUX_CAPABILITY_VERSION_3; h.pid = 0;
  d[0].effective = (u32)eff; d[1].effective = (u32)(eff >> 32);
  d[0].permitted = (u32)prm; d[1].permitted = (u32)(prm >> 32);
  d[0].inheritable = (u32)inh; d[1].inheritable = (u32)(inh >> 32);
  return SYS2(SYS_capset, &h, d);
}

static long do_ambient(u64 set)
{
  long cap, r = SYS5(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (cap = 0; r == 0 && cap < 64; cap++)
    if (set & (1UL << cap)) r = SYS5(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
  return r;
}

/*
 * access(path, X_OK) after the seccomp filter is loaded: a profile that
 * refuses faccessat(2) may allow faccessat2(2) (Linux 5.8); refused both,
 * execve(2) is left to decide.
 */
static long executable(const char *path)
{
  long r = SYS4(SYS_faccessat, AT_FDCWD, path, X_OK, 0);
  if (r == -ENOSYS || r == -EPERM) r = SYS4(439 /* faccessat2 */, AT_FDCWD, path, X_OK, 0);
  return r == -ENOSYS || r == -EPERM ? 0 : r;
}

/* Find the program as execvp(3) would, but report "not found" before start. */
static long do_lookup(char **candidates)
{
  long i, r = -ENOENT, fd;
  for (i = 0; candidates[i]; i++) {
    fd = SYS4(SYS_openat, AT_FDCWD, candidates[i], O_PATH | O_CLOEXEC, 0);
    if (fd < 0) { if (r == -ENOENT) r = fd; continue; }
    if (file_type(fd) != S_IFREG) { SYS1(SYS_close, fd); r = -13; continue; } /* EACCES, as execve */
    SYS1(SYS_close, fd);
    r = executable(candidates[i]);
    if (r == 0) { exec_path = candidates[i]; return 0; }
  }
  return r;
}

static long do_fifo_wait(long dirfd, const char *name)
{
  long fd = SYS4(SYS_openat, dirfd, name, O_WRONLY | O_CLOEXEC, 0), r;
  if (fd < 0) return fd;
  r = full_write(fd, "0", 1);
  SYS1(SYS_close, fd);
  return r;
}

static long is_procfs(long fd);

/*
 * Mark every fd from first on close-on-exec by listing /proc/self/fd, as
 * runc's CloseExecFrom: for when close_range(2) is refused (a seccomp
 * profile older than Linux 5.9, or a kernel before 5.11's CLOSE_RANGE_CLOEXEC).
 * The listing must come from a real procfs, or an fd could be missed.
 */
static long cloexec_listed(long first)
{
  char ents[2048];
  long dir, n, off, fd, k, r = 0;
  dir = SYS4(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (dir < 0) return dir;
  r = is_procfs(dir);
  while (r == 0 && (n = SYS3(SYS_getdents64, dir, ents, sizeof ents)) != 0) {
    if (n < 0) { r = n; break; }
    for (off = 0; off < n; off += ((struct dirent64 *)(ents + off))->reclen) {
      const char *name = ((struct dirent64 *)(ents + off))->name;
      if (name[0] < '0' || name[0] > '9') continue;
      for (fd = 0, k = 0; name[k] >= '0' && name[k] <= '9'; k++) fd = fd * 10 + (name[k] - '0');
      if (fd < first || fd == dir) continue;
      r = SYS3(SYS_fcntl, fd, F_SETFD, 1 /* FD_CLOEXEC */);
      if (r == -EBADF) r = 0; /* closed since it was listed */
      if (r < 0) break;
    }
  }
  SYS1(SYS_close, dir);
  return r;
}

/* fds 3..first-1 are passed on (--preserve-fds); no fd from first on reaches execve (CVE-2024-21626). */
static long do_close_fds(long first)
{
  long fd, r;
  for (fd = 3; fd < first; fd++) {
    r = SYS3(SYS_fcntl, fd, F_SETFD, 0);
    if (r < 0) return r;
  }
  r = SYS3(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC);
  if (r == -ENOSYS || r == -EPERM || r == -EINVAL) r = cloexec_listed(first);
  return r;
}

/*
 * Stdio belongs to the container's user (runc's fixStdioPermissions): a
 * non-root process can then reopen /dev/stdout or its pty. Only the owner
 * changes (a devpts gid= mount option decides the group); /dev/null (1:3)
 * is left alone. EINVAL (the group is not mapped in the user namespace),
 * EPERM (the owner is not) and EROFS leave an fd as it is, as runc does.
 */
static long do_stdio_owner(u64 uid)
{
  struct kstat st;
  long fd, r;
  for (fd = 0; fd < 3; fd++) {
    r = SYS2(SYS_fstat, fd, &st);
    if (r == -EBADF) continue;
    if (r < 0) return r;
    if (st.uid == (u32)uid || ((st.mode & S_IFMT) == 0020000 && st.rdev == 0x103)) continue;
    r = SYS3(SYS_fchown, fd, uid, st.gid);
    if (r < 0 && r != -EINVAL && r != -EPERM && r != -EROFS) return r;
  }
  return 0;
}

/*
 * The cwd must be inside the container's root: getcwd(2) says
 * "(unreachable)..." for a directory outside it, such as one reached
 * through /proc/self/fd/N of an fd the runtime still holds (CVE-2024-21626).
 */
static long do_verify_cwd(void)
{
  char buf[4096];
  long r = SYS2(SYS_getcwd, buf, sizeof buf);
  if (r < 0) return r;
  return buf[0] == '/' ? 0 : -EXDEV;
}

enum { CHDIR_MUST = 0, CHDIR_EARLY = 1, CHDIR_LATE = 2 };

/*
 * As runc's finalizeNamespace: the cwd is entered while still root (a
 * directory only root may search works for any user), and only if root is
 * refused (a directory of the user's that root cannot search, in a user
 * namespace) again once the user is set.
 */
static long do_chdir(const char *path, u64 when)
{
  long r;
  if (when == CHDIR_LATE && !cwd_pending) return 0;
  r = SYS1(SYS_chdir, path);
  if (when == CHDIR_EARLY && (r == -EACCES || r == -EPERM)) { cwd_pending = 1; return 0; }
  if (r == 0) cwd_pending = 0;
  return r;
}

/* Signal handlers are Bun's until execve; SIG_IGN would survive it (execve(2)).
 * Done before the seccomp filter is loaded (rt_sigaction and rt_sigprocmask may be
 * killed by a profile: SCMP_ACT_KILL leaves no fallback), else just before execve. */
static long signals_reset;
static void reset_signals(void)
{
  if (signals_reset) return;
  signals_reset = 1;
  struct kernel_sigaction sa;
  u64 none = 0;
  long sig;
  sa.handler = 0; sa.flags = 0; sa.restorer = 0; sa.mask = 0;
  for (sig = 1; sig <= 64; sig++)
    if (sig != 9 && sig != 19) SYS4(SYS_rt_sigaction, sig, &sa, 0, 8);
  SYS4(SYS_rt_sigprocmask, 2 /* SIG_SETMASK */, &none, 0, 8);
}

struct iovec { void *base; u64 len; };
struct msghdr {
  void *name; u32 namelen; u32 pad0; struct iovec *iov; u64 iovlen;
  void *control; u64 controllen; i32 flags; i32 pad1;
};
/* One SCM_RIGHTS control message carrying one fd (cmsg(3)). */
struct cmsg_fd { u64 len; i32 level; i32 type; i32 fd; i32 pad; };
#define SOL_SOCKET 1
#define SCM_RIGHTS 1

/* Send fd with a short name over a unix socket, as runc's utils.SendFile (conmon reads one message). */
static long send_fd(long sock, long fd, const char *name)
{
  struct iovec iov;
  struct msghdr mh;
  struct cmsg_fd cm;
  long i;
  for (i = 0; i < (long)(sizeof mh / 8); i++) ((u64 *)&mh)[i] = 0;
  iov.base = (void *)name; iov.len = str_len(name);
  cm.len = 20; cm.level = SOL_SOCKET; cm.type = SCM_RIGHTS; cm.fd = (i32)fd; cm.pad = 0;
  mh.iov = &iov; mh.iovlen = 1; mh.control = &cm; mh.controllen = sizeof cm;
  return SYS3(SYS_sendmsg, sock, &mh, 0);
}

/*
 * The container's terminal (runc's setupConsole): a pty from the
 * container's own devpts instance, its master sent over the console socket,
 * its slave made our controlling terminal and stdio, and bound on
 * /dev/console. TIOCGPTPEER opens the slave from the master without a path
 * lookup (ioctl_tty(2)).
 */
static long do_console(long sock, u64 rows, u64 cols, u64 bind_console, u64 clear_onlcr)
{
  char p[64];
  i32 zero = 0;
  u16 ws[4];
  u32 termios[9]; /* struct termios of TCGETS: c_iflag, c_oflag, c_cflag, c_lflag, c_line and c_cc[19] */
  long master, slave, r, fd;
  master = SYS4(SYS_openat, AT_FDCWD, "/dev/ptmx", 2 /* O_RDWR */ | 0400 /* O_NOCTTY */ | O_CLOEXEC, 0);
  if (master < 0) return master;
  r = SYS3(SYS_ioctl, master, 0x40045431 /* TIOCSPTLCK */, &zero);
  slave = r < 0 ? r : SYS3(SYS_ioctl, master, 0x5441 /* TIOCGPTPEER */, 2 | 0400 | O_CLOEXEC);
  if (slave < 0) { SYS1(SYS_close, master); return slave; }
  if (rows || cols) {
    ws[0] = (u16)rows; ws[1] = (u16)cols; ws[2] = 0; ws[3] = 0;
    SYS3(SYS_ioctl, slave, 0x5414 /* TIOCSWINSZ */, ws);
  }
  /* bunc itself relays this terminal (run/exec in the foreground): no "\r\n" for
   * "\n" on the way out, as runc's tty does (console.ClearONLCR). A console
   * socket's receiver decides for itself. */
  if (clear_onlcr && SYS3(SYS_ioctl, slave, 0x5401 /* TCGETS */, termios) == 0) {
    termios[1] &= ~04U; /* ONLCR */
    SYS3(SYS_ioctl, slave, 0x5402 /* TCSETS */, termios);
  }
  r = send_fd(sock, master, "/dev/ptmx");
  SYS1(SYS_close, master);
  if (r < 0) return r;
  r = SYS0(SYS_setsid);
  if (r >= 0) r = SYS3(SYS_ioctl, slave, 0x540E /* TIOCSCTTY */, 0);
  for (fd = 0; r >= 0 && fd < 3; fd++) r = SYS3(SYS_dup3, slave, fd, 0);
  if (r < 0) return r;
  if (bind_console) r = do_bind(fd_path(p, slave), "/dev/console", 0, 0, 0, 0, CREATE_FILE, -1);
  if (slave > 2) SYS1(SYS_close, slave);
  return r;
}

/*
 * A hook run from inside the container's namespaces (createContainer,
 * startContainer): fork, give the child the state JSON on stdin, execve the
 * hook; wait for it up to timeout seconds, then SIGKILL it. A non-zero exit
 * is reported as -(HOOK_STATUS | wait status) so the parent can say which.
 */
#define HOOK_STATUS 0x100000
#define SYS_lseek 8
#define SYS_pidfd_send_signal 424
static void reset_signals(void);

/*
 * startContainer hooks fail after create returned: stderr is the only
 * witness, so say why as runc does ("signal: bad system call", "exit
 * status 3"); the words come from the program.
 */
static void hook_report(const char *head, const char *tail, char **signals, long r)
{
  char num[24], digits[24];
  const char *why = "errno ";
  long v = -r, n = 0, i = 0, sig;
  full_write(2, head, str_len(head));
  if ((v & HOOK_STATUS) && (sig = v & 0x7f)) {
    for (i = 0; signals && signals[i] && i < sig - 1; i++) {}
    if (signals && signals[i] && i == sig - 1) { why = signals[i]; v = -1; }
    else { why = "signal "; v = sig; }
  } else if (v & HOOK_STATUS) { why = "exit status "; v = (v >> 8) & 0xff; }
  else if (v == 110) { why = "timed out"; v = -1; }
  full_write(2, why, str_len(why));
  if (v >= 0) {
    do { digits[n++] = '0' + v % 10; v /= 10; } while (v > 0);
    for (i = 0; n > 0; i++) num[i] = digits[--n];
    full_write(2, num, i);
  }
  if (tail) full_write(2, tail, str_len(tail));
}

static long do_hook(const char *path, const char *fail, const char *fail_tail, char **signals, long state_fd, char **argv, char **envp, u64 timeout)
{
  struct clone_args args;
  struct { i32 fd; short events; short revents; } pfd;
  struct { i64 sec; i64 nsec; } ts;
  i32 pidfd = -1, info[32];
  long pid, r, i, status;
  r = executable(path);
  if (r < 0) goto failed;
  for (i = 0; i < (long)(sizeof args / 8); i++) ((u64 *)&args)[i] = 0;
  args.flags = CLONE_PIDFD; args.pidfd = (u64)&pidfd; args.exit_signal = SIGCHLD;
  pid = SYS2(SYS_clone3, &args, sizeof args);
  /* The seccomp filter is loaded by now, and Docker's and podman's profiles
   * refuse clone3(2) with ENOSYS (others, older, with EPERM): clone(2) with
   * CLONE_PIDFD (Linux 5.2) writes the pidfd through its parent_tid argument. */
  if (pid == -ENOSYS || pid == -EPERM) pid = SYS5(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pidfd, 0, 0);
  if (pid < 0) { r = pid; goto failed; }
  if (pid == 0) {
    SYS3(SYS_lseek, state_fd, 0, 0);
    r = SYS3(SYS_dup3, state_fd, 0, 0);
    if (r == -ENOSYS || r == -EPERM) r = SYS2(33 /* dup2 */, state_fd, 0);
    if (r < 0) SYS1(SYS_exit_group, 126);
    /* Before pivot_root (createContainer) the hook's cwd is the container's root, as
       config.md says and runc does (rootfs_linux.go chdirs there first); after it,
       root_fd is gone and the process's cwd is already inside the new root. */
    if (root_fd != AT_FDCWD && SYS1(SYS_fchdir, root_fd) < 0) SYS1(SYS_exit_group, 126);
    if (do_close_fds(3) < 0) SYS1(SYS_exit_group, 126);
    SYS2(SYS_prctl, PR_SET_PDEATHSIG, 9);
    reset_signals();
    SYS3(SYS_execve, path, argv, envp);
    SYS1(SYS_exit_group, 127);
  }
  pfd.fd = pidfd; pfd.events = POLLIN; pfd.revents = 0;
  ts.sec = (i64)timeout; ts.nsec = 0;
  do r = SYS5(SYS_ppoll, &pfd, 1, timeout ? (long)&ts : 0, 0, 8); while (r == -EINTR);
  /* Each wait has an older twin for profiles that refuse the newer call. */
  if (r == -ENOSYS || r == -EPERM) do r = SYS3(7 /* poll */, &pfd, 1, timeout ? (long)timeout * 1000 : -1); while (r == -EINTR);
  if (r == 0) {
    /* Profiles older than pidfd_send_signal(2) refuse it; the unreaped child's pid is still its own. */
    if (SYS4(SYS_pidfd_send_signal, pidfd, 9, 0, 0) < 0) SYS2(SYS_kill, pid, 9);
    r = -110; /* ETIMEDOUT */
  }
  for (i = 0; i < 32; i++) info[i] = 0;
  status = SYS5(SYS_waitid, P_PIDFD, pidfd, info, WEXITED, 0);
  /* si_code at [2], si_status at [6]; as a wait status: code << 8, or the signal */
  if (status == 0) status = info[2] == 1 /* CLD_EXITED */ ? (info[6] & 0xff) << 8 : info[6] & 0x7f;
  else if (status == -ENOSYS || status == -EPERM) {
    i32 ws = 0;
    status = SYS4(61 /* wait4 */, pid, &ws, 0, 0);
    if (status >= 0) status = ws & 0xffff;
  }
  if (status >= 0 && r >= 0) r = status ? -(HOOK_STATUS | status) : 0;
  SYS1(SYS_close, pidfd);
  if (r >= 0) return 0;
failed:
  if (fail) hook_report(fail, fail_tail, signals, r);
  return r;
}

#define SYS_fstatfs 138
#define PROC_SUPER_MAGIC 0x9fa0
#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_BENEATH 0x08

static long is_procfs(long fd)
{
  u64 st[15];
  long r = SYS2(SYS_fstatfs, fd, st);
  if (r < 0) return r;
  return st[0] == PROC_SUPER_MAGIC ? 0 : -EINVAL;
}

/*
 * A sysctl goes only to the container's own procfs (CVE-2025-52881): /proc
 * is resolved in the root without symlinks and must be a procfs; the file
 * is reached beneath it without symlinks or crossing into another mount.
 */
static long do_sysctl(const char *key, const char *value)
{
  struct open_how how;
  long proc = open_in_root("/proc", MUST_EXIST | NO_SYMLINKS), fd, r;
  if (proc < 0) return proc;
  r = is_procfs(proc);
  if (r < 0) { SYS1(SYS_close, proc); return r; }
  how.flags = O_WRONLY | O_CLOEXEC; how.mode = 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  fd = SYS4(SYS_openat2, proc, key, &how, sizeof how);
  SYS1(SYS_close, proc);
  if (fd < 0) return fd;
  r = is_procfs(fd);
  if (r == 0) r = full_write(fd, value, str_len(value));
  SYS1(SYS_close, fd);
  return r;
}

/*
 * An LSM attribute (AppArmor's exec profile, SELinux's exec or keycreate
 * label) is written to our own /proc/thread-self/attr/..., and only there
 * (CVE-2025-52881): /proc as the root sees it now (the container's, after
 * pivot_root) is reached without symlinks and must be a procfs; thread-self
 * is procfs's own symlink to PID/task/TID, followed beneath it; the attr file
 * is reached without symlinks or crossing a mount (a bind mount over it would
 * take the label elsewhere), and must be procfs too.
 */
static long do_lsm_attr(const char *attr, const char *fallback, const char *value)
{
  struct open_how how;
  long proc, self, fd, r;
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC; how.mode = 0;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  proc = SYS4(SYS_openat2, AT_FDCWD, "/proc", &how, sizeof how);
  if (proc < 0) return proc;
  r = is_procfs(proc);
  if (r < 0) { SYS1(SYS_close, proc); return r; }
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  self = SYS4(SYS_openat2, proc, "thread-self", &how, sizeof how);
  SYS1(SYS_close, proc);
  if (self < 0) return self;
  how.flags = O_WRONLY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  fd = SYS4(SYS_openat2, self, attr, &how, sizeof how);
  /* AppArmor's own directory (attr/apparmor/exec) is newer than the shared attr/exec. */
  if (fd == -ENOENT && fallback) fd = SYS4(SYS_openat2, self, fallback, &how, sizeof how);
  SYS1(SYS_close, self);
  if (fd < 0) return fd;
  r = is_procfs(fd);
  if (r == 0) r = full_write(fd, value, str_len(value));
  SYS1(SYS_close, fd);
  return r;
}

/* Make the table of string offsets at off into a table of pointers, in place
 * (read and written as char *: one type, so no strict-aliasing surprise). */
static char **table(u8 *prog, u64 off)
{
  char **slot = (char **)(prog + off);
  long i;
  for (i = 0; slot[i]; i++) slot[i] = (char *)prog + (u64)slot[i];
  return slot;
}

/* ---- Sharing memory with the parent (CLONE_VM) ---- */
#define SYS_mmap 9
#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_PRIVATE 2
#define MAP_ANONYMOUS 0x20
#define MAP_STACK 0x20000
#define MAP_NORESERVE 0x4000
#define PROT_NONE 0
#define SYS_mprotect 10
/* As much stack as a forked child had (the main thread's 8 MiB): the
 * executor recurses (copy_tree ~15 KiB a level, 64 levels; open_in_root
 * ~12 KiB, 40 levels). Only touched pages cost anything (MAP_NORESERVE),
 * and a guard below it, larger than any frame, faults instead of running
 * into whatever bunc has mapped there. */
#define CHILD_STACK (8L << 20)
#define STACK_GUARD (64L << 10)

/* Whether this process shares its parent's memory: then a fork must too. */
static long shared_vm;
/* Where a child forked onto a new stack goes on: the program and its next op. */
static u8 *resume_prog;
static u32 resume_index;

static void run_program(u8 *prog, u32 first);

/* Fresh anonymous memory: a guard, a stack of CHILD_STACK bytes (returned), then extra bytes. */
static u8 *map_stack(long extra)
{
  long r = sys(SYS_mmap, 0, STACK_GUARD + CHILD_STACK + extra, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
  if (r < 0 && r > -4096) return (u8 *)0;
  if (SYS3(SYS_mprotect, r, STACK_GUARD, PROT_NONE) < 0) return (u8 *)0;
  return (u8 *)r + STACK_GUARD;
}

/*
 * clone3(2) onto the stack in args: the child starts with its stack pointer
 * at the stack's top and calls fn(arg), which never returns (the frames
 * above are the parent's). Returns the child's pid or -errno in the parent.
 */
static long clone3_onto_stack(struct clone_args *args, void (*fn)(void *), void *arg)
{
  long r;
  __asm__ __volatile__(
    "mov %3, %%r12\n\t"
    "mov %4, %%r13\n\t"
    "syscall\n\t"
    "test %%rax, %%rax\n\t"
    "jnz 1f\n\t"
    "xor %%ebp, %%ebp\n\t"
    "mov %%r13, %%rdi\n\t"
    "call *%%r12\n"
    "2:\n\t"
    "hlt\n\t"
    "jmp 2b\n"
    "1:"
    : "=a"(r)
    : "0"((long)SYS_clone3), "D"(args), "r"(fn), "r"(arg), "S"(sizeof *args)
    : "rcx", "r11", "r12", "r13", "memory");
  return r;
}

/*
 * The gate between a fork's two halves: the grandchild goes on only once the
 * forking process has sent MSG_PID. Both write to the one sync socket, and a
 * grandchild that ran ahead could send READY (or a SECCOMP_FD naming its own
 * fd) first: the parent would take the forking process for the container's
 * process, write its pid to --pid-file and report its exit status 0.
 */
static i32 fork_gate[2];

/* In the grandchild: wait at the gate; -EPIPE when the forking process died before opening it. */
static long pass_fork_gate(void)
{
  char b = 0;
  long r;
  SYS1(SYS_close, fork_gate[1]);
  r = full_read(fork_gate[0], &b, 1);
  SYS1(SYS_close, fork_gate[0]);
  return r;
}

static void resume_child(void *unused)
{
  (void)unused;
  if (pass_fork_gate() < 0) for (;;) SYS1(SYS_exit_group, 1);
  run_program(resume_prog, resume_index);
}

/* OP_FORK: the grandchild goes on with the op after index; this process reports its pid and exits. */
static long fork_child(u8 *prog, u32 index, long sync_fd)
{
  struct clone_args args;
  long pid, i;
  u8 *stack;
  for (i = 0; i < (long)(sizeof args / 8); i++) ((u64 *)&args)[i] = 0;
  /* With CLONE_PARENT, clone3 wants exit_signal 0: the child inherits ours (SIGCHLD). */
  args.flags = CLONE_PARENT;
  args.exit_signal = 0;
  pid = SYS2(SYS_pipe2, fork_gate, O_CLOEXEC);
  if (pid < 0) return pid;
  if (shared_vm) {
    stack = map_stack(0);
    if (!stack) pid = -12; /* ENOMEM */
    else {
      args.flags |= CLONE_VM;
      args.stack = (u64)stack;
      args.stack_size = CHILD_STACK;
      resume_prog = prog;
      resume_index = index + 1;
      pid = clone3_onto_stack(&args, resume_child, 0);
    }
  } else {
    pid = SYS2(SYS_clone3, &args, sizeof args);
    if (pid == 0) return pass_fork_gate();
  }
  if (pid < 0) {
    SYS1(SYS_close, fork_gate[0]);
    SYS1(SYS_close, fork_gate[1]);
    return pid;
  }
  send_msg(sync_fd, MSG_PID, 0, 0, (i32)pid);
  full_write(fork_gate[1], "g", 1);
  for (;;) SYS1(SYS_exit_group, 0);
}

/* A new network namespace has "lo" down; runc and crun bring it up (runc's
 * loopback strategy), and clients such as podman --network none rely on it.
 * struct ifreq: 16 bytes of name, then ifr_flags (short) in a 24-byte union. */
static long do_loopback_up(void)
{
  struct { char name[16]; short flags; char pad[22]; } ifr;
  long fd, r;
  u32 i;
  for (i = 0; i < sizeof ifr; i++) ((char *)&ifr)[i] = 0;
  ifr.name[0] = 'l'; ifr.name[1] = 'o';
  fd = SYS3(SYS_socket, 2 /* AF_INET */, 2 /* SOCK_DGRAM */ | O_CLOEXEC, 0);
  if (fd < 0) return fd;
  r = SYS3(SYS_ioctl, fd, 0x8913 /* SIOCGIFFLAGS */, &ifr);
  if (r >= 0) {
    ifr.flags |= 1 /* IFF_UP */;
    r = SYS3(SYS_ioctl, fd, 0x8914 /* SIOCSIFFLAGS */, &ifr);
  }
  SYS1(SYS_close, fd);
  return r < 0 ? r : 0;
}

static long run_op(u8 *prog, struct op *o, long sync_fd, i32 index)
{
#define S(i) (o->s[i] ? (const char *)(prog + o->s[i]) : (const char *)0)
  struct msg m;
  struct rlimit64 rl;
  long r;
  switch (o->code) {
  case OP_SETNS: return SYS2(SYS_setns, o->fd, o->n[0]);
  case OP_UNSHARE: return SYS1(SYS_unshare, o->n[0]);
  case OP_SYNC:
    r = send_msg(sync_fd, (i32)o->n[0], index, 0, 0);
    if (r == 0) r = full_read(sync_fd, &m, sizeof m);
    if (r == 0 && m.type != MSG_GO) r = -EINVAL;
    return r;
  case OP_FORK: return fork_child(prog, (u32)index, sync_fd);
  case OP_PDEATHSIG: return SYS2(SYS_prctl, PR_SET_PDEATHSIG, o->n[0]);
  case OP_MOUNT: return do_mount(S(0), S(1), S(2), o->n[0], S(3), o->n[1]);
  case OP_BIND: return do_bind(S(0), S(1), o->n[0], o->n[1], o->n[2], o->n[3], o->n[4], o->fd);
  case OP_PROPAGATE:
    if (o->s[1]) {
      char p[64];
      long fd = open_in_root(S(1), MUST_EXIST);
      if (fd < 0) return fd;
      r = SYS5(SYS_mount, 0, fd_path(p, fd), 0, o->n[0], 0);
      SYS1(SYS_close, fd);
      return r;
    }
    return SYS5(SYS_mount, 0, S(0), 0, o->n[0], 0);
  case OP_SET_ROOT:
    /* pivot_root(2) needs the new root to be a mount point. */
    r = SYS5(SYS_mount, S(0), S(0), 0, MS_BIND | MS_REC, 0);
    if (r < 0) return r;
    r = SYS4(SYS_openat, AT_FDCWD, S(0), O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    if (r >= 0) root_fd = r;
    return r < 0 ? r : 0;
  case OP_MKNOD: return do_mknod(S(1), o->n[0], o->n[1], o->n[2], o->n[3]);
  case OP_SYMLINK: return do_symlink(S(0), S(1));
  case OP_MASK: return do_mask(S(1), S(2));
  case OP_READONLY: return do_readonly(S(1));
  case OP_PIVOT_ROOT: return do_pivot_root(o->n[0]);
  case OP_HIDE_MOUNT: return do_hide_mount(S(0));
  case OP_SETHOSTNAME: return SYS2(SYS_sethostname, S(0), str_len(S(0)));
  case OP_SETDOMAINNAME: return SYS2(SYS_setdomainname, S(0), str_len(S(0)));
  case OP_WRITE_FILE: return do_write_file(S(0), S(1));
  case OP_SETRLIMIT:
    rl.cur = o->n[1]; rl.max = o->n[2];
    return SYS4(SYS_prlimit64, 0, o->n[0], &rl, 0);
  case OP_CHDIR: return do_chdir(S(0), o->n[0]);
  case OP_VERIFY_CWD: return do_verify_cwd();
  case OP_STDIO_OWNER: return do_stdio_owner(o->n[0]);
  case OP_UMASK: SYS1(SYS_umask, o->n[0]); return 0;
  case OP_SETGROUPS: return SYS2(SYS_setgroups, o->n[1], prog + o->n[0]);
  /* With noNewPrivileges false these come after the seccomp filter, and a profile may
   * refuse or KILL setres[ug]id: setgid(2)/setuid(2) first, as runc calls them (for a
   * caller with CAP_SETGID/CAP_SETUID they set the real, effective and saved ids alike:
   * the same result), setres[ug]id where a profile refuses those. */
  case OP_SETRESGID:
    r = SYS1(106 /* setgid */, o->n[0]);
    if (r == -ENOSYS || r == -EPERM) r = SYS3(SYS_setresgid, o->n[0], o->n[0], o->n[0]);
    return r;
  case OP_SETRESUID:
    r = SYS1(105 /* setuid */, o->n[0]);
    if (r == -ENOSYS || r == -EPERM) r = SYS3(SYS_setresuid, o->n[0], o->n[0], o->n[0]);
    return r;
  case OP_KEEPCAPS: return SYS2(SYS_prctl, PR_SET_KEEPCAPS, o->n[0]);
  case OP_CAPBSET: return do_capbset(o->n[0]);
  case OP_CAPSET: return do_capset(o->n[0], o->n[1], o->n[2]);
  case OP_AMBIENT: return do_ambient(o->n[0]);
  case OP_NO_NEW_PRIVS: return SYS5(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  case OP_LOOKUP: return do_lookup(table(prog, o->n[0]));
  case OP_READY: return send_msg(sync_fd, MSG_READY, index, 0, 0);
  case OP_FIFO_WAIT: return do_fifo_wait(o->fd, S(0));
  case OP_CLOSE_FDS: return do_close_fds(o->n[0]);
  case OP_EXEC:
    reset_signals();
    return SYS3(SYS_execve, exec_path, table(prog, o->n[0]), table(prog, o->n[1]));
  case OP_SECCOMP: {
    struct { u16 len; u16 pad[3]; u64 filter; } fprog;
    reset_signals();
    fprog.len = (u16)o->n[1]; fprog.filter = (u64)(prog + o->n[0]);
    r = SYS3(317 /* seccomp */, 1 /* SECCOMP_SET_MODE_FILTER */, o->n[2], &fprog);
    if (r < 0 || !o->n[3]) return r < 0 ? r : 0;
    /* NEW_LISTENER: the notify fd goes to the parent, which hands it to the listener.
     * MSG_SECCOMP_FD: only its number (a write), the parent takes it with
     * pidfd_getfd(2) while this waits; MSG_SECCOMP: the fd itself (sendmsg). */
    {
      long fd = r;
      r = send_msg(sync_fd, (i32)o->n[3], index, 0, o->n[3] == MSG_SECCOMP_FD ? (i32)fd : 0);
      if (r == 0 && o->n[3] == MSG_SECCOMP) r = send_fd(sync_fd, fd, "seccomp");
      if (r == 0) r = full_read(sync_fd, &m, sizeof m);
      if (r == 0 && m.type != MSG_GO) r = -EINVAL;
      SYS1(SYS_close, fd);
      return r;
    }
  }
  case OP_HOOK: return do_hook(S(0), S(1), S(2), o->n[3] ? table(prog, o->n[3]) : 0, o->fd, table(prog, o->n[0]), table(prog, o->n[1]), o->n[2]);
  case OP_SYSCTL: return do_sysctl(S(0), S(1));
  case OP_PERSONALITY: r = SYS1(135 /* personality */, o->n[0]); return r < 0 ? r : 0;
  case OP_SCHEDULER: return SYS3(314 /* sched_setattr */, 0, prog + o->n[0], 0);
  case OP_IOPRIO: return SYS3(251 /* ioprio_set */, 1 /* IOPRIO_WHO_PROCESS */, 0, o->n[0]);
  case OP_AFFINITY: return SYS3(203 /* sched_setaffinity */, 0, o->n[1], prog + o->n[0]);
  case OP_SETATTR: {
    long fd = open_in_root(S(1), MUST_EXIST);
    if (fd < 0) return fd;
    r = set_attr(fd, o->n[0], o->n[1], o->n[2] == 1 ? 0 : AT_RECURSIVE);
    SYS1(SYS_close, fd);
    return r;
  }
  case OP_DUMPABLE: return SYS2(SYS_prctl, PR_SET_DUMPABLE, o->n[0]);
  case OP_LSM_ATTR: return do_lsm_attr(S(0), S(1), S(2));
  case OP_SETXATTR: return do_setxattr(S(1), S(2), S(3));
  case OP_MEMPOLICY: return SYS3(238 /* set_mempolicy */, o->n[0], o->n[1] ? prog + o->n[1] : (u8 *)0, o->n[2]);
  case OP_CLOSE: return SYS1(SYS_close, o->fd);
  case OP_WRITE_FD: return full_write(o->fd, S(1), str_len(S(1)));
  case OP_KEYRING:
    /* keyctl(KEYCTL_JOIN_SESSION_KEYRING); kernels without keys say ENOSYS: nothing to isolate then. */
    r = SYS2(250 /* keyctl */, 1, S(0));
    return r == -38 ? 0 : (r < 0 ? r : 0);
  case OP_MKDIR:
    r = open_in_root(S(1), CREATE_DIR);
    if (r >= 0) SYS1(SYS_close, r);
    return r < 0 ? r : 0;
  case OP_CONSOLE: return do_console(o->fd, o->n[0], o->n[1], o->n[2], o->n[3]);
  case OP_LOOPBACK_UP: return do_loopback_up();
  case OP_ROOT_RDONLY: {
    struct mount_attr attr;
    attr.attr_set = 1 /* MOUNT_ATTR_RDONLY */; attr.attr_clr = 0; attr.propagation = 0; attr.userns_fd = 0;
    return SYS5(SYS_mount_setattr, root_fd, "", AT_EMPTY_PATH, &attr, sizeof attr);
  }
  }
  return -EINVAL;
#undef S
}

/* Run the program from op `first` on; never returns. */
static void run_program(u8 *prog, u32 first)
{
  struct header *h = (struct header *)prog;
  struct op *ops = (struct op *)(prog + h->ops_off);
  long sync_fd = h->sync_fd, r;
  u32 i;
  /* Before anything else: no ptrace or /proc/PID/mem access from the
   * container to this process while it still holds host fds (CVE-2019-5736). */
  SYS2(SYS_prctl, PR_SET_DUMPABLE, 0);
  sync_sock = sync_fd;
  /* A child that shares memory starts from what an earlier child of the same bunc left here. */
  if (first == 0) { root_fd = AT_FDCWD; exec_path = 0; cwd_pending = 0; signals_reset = 0; }
  for (i = first; i < h->nops; i++) {
    op_index = (i32)i;
    r = run_op(prog, &ops[i], sync_fd, (i32)i);
    if (r < 0) {
      send_msg(sync_fd, MSG_ERROR, (i32)i, (i32)-r, 0);
      die();
    }
  }
  die();
}

/* Where a child on a stack of its own (CLONE_VM) starts. */
static void start_child(void *prog) { run_program((u8 *)prog, 0); }

/*
 * Called from JS in the parent. clone3(2) with CLONE_PIDFD and the given
 * namespace flags; the child runs the program and never returns. All signals
 * are blocked across the clone so that none of Bun's handlers can run in
 * the child. out[0] = pid, out[1] = pidfd. Returns 0 or -errno.
 */
long bunc_spawn(u8 *prog, long clone_flags, long cgroup_fd, i32 *out)
{
  u8 *stack = 0;
  struct clone_args args;
  struct header *h = (struct header *)prog;
  u64 all = ~0UL, old = 0;
  i32 pidfd = -1;
  long pid, i;
  if (h->magic != PROGRAM_MAGIC) return -EINVAL;
  for (i = 0; i < (long)(sizeof args / 8); i++) ((u64 *)&args)[i] = 0;
  args.flags = CLONE_PIDFD | (u64)clone_flags;
  args.pidfd = (u64)&pidfd;
  args.exit_signal = SIGCHLD;
  if (cgroup_fd >= 0) { args.flags |= CLONE_INTO_CGROUP; args.cgroup = cgroup_fd; }
  shared_vm = (args.flags & CLONE_VM) != 0;
  if (shared_vm) {
    /* The child's stack, and its own copy of the program: the caller's buffer
     * belongs to the JavaScript heap and may be collected while the child runs.
     * Never unmapped: the child uses it until execve, after the caller moved on. */
    stack = map_stack(h->size);
    if (!stack) return -12; /* ENOMEM */
    for (i = 0; i < (long)h->size; i++) stack[CHILD_STACK + i] = prog[i];
    args.stack = (u64)stack;
    args.stack_size = CHILD_STACK;
    /* Dumpability is a property of the memory, which is shared: set it before
     * the child exists rather than in its first step (CVE-2019-5736). */
    SYS2(SYS_prctl, PR_SET_DUMPABLE, 0);
  }
  SYS4(SYS_rt_sigprocmask, 2, &all, &old, 8);
  if (shared_vm) {
    pid = clone3_onto_stack(&args, start_child, stack + CHILD_STACK);
  } else {
    pid = SYS2(SYS_clone3, &args, sizeof args);
    if (pid == 0) run_program(prog, 0);
  }
  SYS4(SYS_rt_sigprocmask, 2, &old, 0, 8);
  if (pid < 0) {
    /* No child uses the stack: give it back (the caller may retry without CLONE_INTO_CGROUP). */
    if (stack) SYS2(11 /* munmap */, stack - STACK_GUARD, STACK_GUARD + CHILD_STACK + h->size);
    return pid;
  }
  out[0] = (i32)pid;
  out[1] = pidfd;
  return 0;
}

/*
 * Wait up to timeout_ms (-1: forever) for the process behind pidfd (whose
 * pid is pid) to exit. Other children that exited meanwhile are reaped:
 * orphans reparented to us as child subreaper (PR_SET_CHILD_SUBREAPER).
 * Returns the wait status as exit code << 8 | signal, -EAGAIN on timeout,
 * -EINTR when a signal arrived first, or -errno.
 */
long bunc_wait(long pidfd, long pid, long timeout_ms)
{
  struct { i32 fd; short events; short revents; } pfd;
  struct { i64 sec; i64 nsec; } ts;
  i32 info[32];
  long r, k;
  pfd.fd = (i32)pidfd; pfd.events = POLLIN; pfd.revents = 0;
  ts.sec = timeout_ms / 1000; ts.nsec = (timeout_ms % 1000) * 1000000;
  r = SYS5(SYS_ppoll, &pfd, 1, timeout_ms < 0 ? 0 : (long)&ts, 0, 8);
  for (;;) {
    /* siginfo_t as ints: si_code at [2], si_pid at [4], si_status at [6] */
    for (k = 0; k < 32; k++) info[k] = 0;
    if (SYS5(SYS_waitid, 0 /* P_ALL */, 0, info, WEXITED | WNOHANG | 0x01000000 /* WNOWAIT */, 0) < 0) break;
    if (info[4] == 0 || info[4] == pid) break;
    SYS5(SYS_waitid, 1 /* P_PID */, info[4], info, WEXITED, 0);
  }
  if (r < 0) return r;
  if (r == 0) return -11; /* EAGAIN */
  for (k = 0; k < 32; k++) info[k] = 0;
  r = SYS5(SYS_waitid, P_PIDFD, pidfd, info, WEXITED, 0);
  if (r < 0) return r;
  return info[2] == 1 /* CLD_EXITED */ ? (info[6] & 0xff) << 8 : (info[6] & 0x7f);
}

/* Receive one fd sent with SCM_RIGHTS on sock (the pty master of a terminal). Returns it or -errno. */
long bunc_recv_fd(long sock)
{
  char data[256];
  struct iovec iov;
  struct msghdr mh;
  struct cmsg_fd cm;
  long i, r;
  for (i = 0; i < (long)(sizeof mh / 8); i++) ((u64 *)&mh)[i] = 0;
  iov.base = data; iov.len = sizeof data;
  cm.len = 0; cm.fd = -1;
  mh.iov = &iov; mh.iovlen = 1; mh.control = &cm; mh.controllen = sizeof cm;
  r = SYS3(SYS_recvmsg, sock, &mh, O_CLOEXEC /* MSG_CMSG_CLOEXEC */);
  if (r < 0) return r;
  if (cm.level != SOL_SOCKET || cm.type != SCM_RIGHTS || cm.fd < 0) return -EINVAL;
  return cm.fd;
}

/*
 * Input ended: wait (up to 2 s) until the container has read what is queued
 * on the slave, then write eof_char, as util-linux script(1) does. In
 * canonical mode a VEOF sent while a line is still queued would only end that
 * line, not the input. TIOCGPTPEER opens the slave from the master to poll it.
 */
static void send_eof(long master, long eof_char)
{
  struct { i32 fd; short events; short revents; } one;
  struct { i64 sec; i64 nsec; } ts;
  char c = (char)eof_char;
  long slave = SYS3(SYS_ioctl, master, 0x5441 /* TIOCGPTPEER */, 2 | 0400 | O_CLOEXEC), tries;
  for (tries = 0; slave >= 0 && tries < 40; tries++) {
    one.fd = (i32)slave; one.events = POLLIN; one.revents = 0;
    ts.sec = 0; ts.nsec = 0;
    if (SYS5(SYS_ppoll, &one, 1, (long)&ts, 0, 8) <= 0) break; /* nothing queued: the reader has it all */
    ts.nsec = 50000000;
    SYS5(SYS_ppoll, 0, 0, (long)&ts, 0, 8);
  }
  if (slave >= 0) SYS1(SYS_close, slave);
  full_write(master, &c, 1);
}

/*
 * Copy in_fd → master and master → out_fd until the process of pidfd exits
 * or timeout_ms passes (then returns -EAGAIN, or -EINTR on a signal). When
 * the process has exited, what the master still holds is drained to out_fd
 * and 0 is returned. in_fd < 0: no input. When in_fd reaches its end, 1 is
 * returned (after writing eof_char to the master, unless it is < 0): the
 * caller stops passing it.
 */
long bunc_proxy(long master, long in_fd, long out_fd, long pidfd, long timeout_ms, long eof_char)
{
  struct { i32 fd; short events; short revents; } pfd[3];
  struct { i64 sec; i64 nsec; } ts;
  char buf[16384];
  long r, n;
  pfd[0].fd = (i32)pidfd; pfd[0].events = POLLIN;
  pfd[1].fd = (i32)master; pfd[1].events = POLLIN;
  pfd[2].fd = (i32)in_fd; pfd[2].events = POLLIN;
  ts.sec = timeout_ms / 1000; ts.nsec = (timeout_ms % 1000) * 1000000;
  for (;;) {
    pfd[0].revents = pfd[1].revents = pfd[2].revents = 0;
    r = SYS5(SYS_ppoll, pfd, in_fd >= 0 ? 3 : 2, (long)&ts, 0, 8);
    if (r < 0) return r;
    if (r == 0) return -11;
    if (pfd[1].revents & POLLIN) {
      n = SYS3(SYS_read, master, buf, sizeof buf);
      if (n > 0) full_write(out_fd, buf, n);
    }
    if (pfd[2].revents & (POLLIN | 0x10 /* POLLHUP */ | 0x08 /* POLLERR */)) {
      n = SYS3(SYS_read, in_fd, buf, sizeof buf);
      if (n > 0) full_write(master, buf, n);
      else if (n != -EINTR && n != -11) {
        if (eof_char >= 0) send_eof(master, eof_char);
        return 1;
      }
    }
    if (pfd[0].revents & POLLIN) {
      /*
       * The process is gone: drain what it wrote. A pty passes data on through
       * a work queue (tty_flip_buffer_push), so its last output may reach the
       * master only after it exited: read until EIO (every slave fd closed),
       * 100 ms of silence (a background process still holds the slave), or 2 s.
       */
      for (n = 0; n < 20;) {
        struct { i32 fd; short events; short revents; } one;
        struct { i64 sec; i64 nsec; } wait;
        long got;
        one.fd = (i32)master; one.events = POLLIN; one.revents = 0; wait.sec = 0; wait.nsec = 100000000;
        r = SYS5(SYS_ppoll, &one, 1, (long)&wait, 0, 8);
        if (r == -EINTR) continue;
        if (r <= 0 || !(one.revents & POLLIN)) break;
        got = SYS3(SYS_read, master, buf, sizeof buf);
        if (got <= 0) break;
        full_write(out_fd, buf, got);
        n++;
      }
      return 0;
    }
  }
}

/* Send len bytes of data with fd attached (SCM_RIGHTS) on sock: a pidfd socket's or a seccomp listener's message. */
long bunc_send_fd(long sock, long fd, const char *data, long len)
{
  struct iovec iov;
  struct msghdr mh;
  struct cmsg_fd cm;
  long i, r;
  for (i = 0; i < (long)(sizeof mh / 8); i++) ((u64 *)&mh)[i] = 0;
  iov.base = (void *)data; iov.len = len;
  cm.len = 20; cm.level = SOL_SOCKET; cm.type = SCM_RIGHTS; cm.fd = (i32)fd; cm.pad = 0;
  mh.iov = &iov; mh.iovlen = 1; mh.control = &cm; mh.controllen = sizeof cm;
  r = SYS3(SYS_sendmsg, sock, &mh, 0x4000 /* MSG_NOSIGNAL */);
  if (r >= 0 && r < len) {
    r = full_write(sock, data + r, len - r);
  }
  return r < 0 ? r : 0;
}
