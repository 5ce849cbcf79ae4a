#define _GNU_SOURCE
#include <sys/ioctl.h>
#include <unistd.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
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

static volatile int clinux_signal_fd = -1;

static void clinux_stop_signal_handler(int signo, siginfo_t *info, void *context) {
    (void)context;
    int saved = errno;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    clinux_signal_record record = {
        .signo = signo,
        .sender_pid = info ? (int)info->si_pid : 0,
        .code = info ? info->si_code : 0,
        .monotonic_ns = (long long)now.tv_sec * 1000000000LL + now.tv_nsec,
    };
    if (clinux_signal_fd >= 0) {
        ssize_t ignored = write(clinux_signal_fd, &record, sizeof record);
        (void)ignored;
    }
    errno = saved;
}

int clinux_trap_stop_signals(int write_fd) {
    clinux_signal_fd = write_fd;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = clinux_stop_signal_handler;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGINT, &action, NULL) != 0) return -1;
    if (sigaction(SIGTERM, &action, NULL) != 0) return -1;
    return 0;
}

void clinux_restore_stop_signals(void) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    clinux_signal_fd = -1;
}
