#define _GNU_SOURCE
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/fs.h>
#include "CLinux.h"

ssize_t clinux_copy_file_range(int in_fd, off_t *in_offset, int out_fd, size_t length) {
    return copy_file_range(in_fd, in_offset, out_fd, NULL, length, 0);
}

int clinux_ficlone(int dest_fd, int src_fd) {
    return ioctl(dest_fd, FICLONE, src_fd);
}

off_t clinux_seek_data(int fd, off_t offset) {
    return lseek(fd, offset, SEEK_DATA);
}

off_t clinux_seek_hole(int fd, off_t offset) {
    return lseek(fd, offset, SEEK_HOLE);
}
