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

#endif
