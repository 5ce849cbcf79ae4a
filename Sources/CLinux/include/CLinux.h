// Linux system calls Swift cannot reach through Glibc: copy_file_range is declared only under _GNU_SOURCE (which
// would change libc's structures for every module importing this header, so it is defined in CLinux.c alone), and
// ioctl is variadic. One name prefix, one wrapper per call.
#ifndef CLINUX_H
#define CLINUX_H

#include <sys/types.h>

/// copy_file_range(2): copies `length` bytes from `in_fd` at `*in_offset` (advanced) to `out_fd` at its file
/// position, inside the kernel; file systems that share extents (btrfs, XFS) make it a reflink. Returns the number
/// of bytes copied, or -1 with errno set (EXDEV, EINVAL, ENOSYS, EOPNOTSUPP where it does not apply).
ssize_t clinux_copy_file_range(int in_fd, off_t *in_offset, int out_fd, size_t length);

/// ioctl(FICLONE): makes `dest_fd` share all of `src_fd`'s extents (a reflink copy). 0, or -1 with errno set
/// (EOPNOTSUPP, EXDEV, EINVAL where the file system cannot).
int clinux_ficlone(int dest_fd, int src_fd);

/// lseek(SEEK_DATA): the offset of the first data at or after `offset`, or -1 with errno ENXIO when only a hole is
/// left (or EINVAL where the file system cannot tell).
off_t clinux_seek_data(int fd, off_t offset);

/// lseek(SEEK_HOLE): the offset of the first hole at or after `offset` (the end of the file counts as one).
off_t clinux_seek_hole(int fd, off_t offset);

/// One stop signal as the kernel delivered it: which, who sent it (0 and a kernel `code` for a terminal's Ctrl-C),
/// and when (CLOCK_MONOTONIC nanoseconds, taken in the handler, so a late reader does not stretch the gaps).
typedef struct {
    int signo;
    int sender_pid;
    int code;
    long long monotonic_ns;
} clinux_signal_record;

/// Installs an SA_SIGINFO handler for SIGINT and SIGTERM that writes one `clinux_signal_record` per delivered signal
/// to `write_fd` (write(2) is async-signal-safe; the pipe should be non-blocking: a full pipe drops the record rather
/// than blocking the handler). 0, or -1 with errno set.
int clinux_trap_stop_signals(int write_fd);

/// Puts SIGINT and SIGTERM back to their default actions.
void clinux_restore_stop_signals(void);

#endif
