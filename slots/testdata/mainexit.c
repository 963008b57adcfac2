// mainexit is a process whose main thread can end before its other thread,
// for the tests of what counts as a live slot holder. Package slots_test
// builds it with gcc.
//
// It starts a second thread, prints "ready PID TID" (TID: the second
// thread's id), then reads one command line from stdin:
//
//   pthread_exit  the main thread calls pthread_exit: /proc/PID/stat says Z
//                 while the second thread runs on. The second thread reads
//                 stdin to its end, then exits the process with status 0.
//   exit          the main thread calls exit(0), which ends every thread.
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static sem_t started, mainGone;
static pid_t secondTID;

static void *second(void *arg) {
	(void)arg;
	secondTID = (pid_t)syscall(SYS_gettid);
	sem_post(&started);
	sem_wait(&mainGone);
	char buf[256];
	while (read(0, buf, sizeof buf) > 0) {
	}
	exit(0);
}

int main(void) {
	pthread_t t;
	sem_init(&started, 0, 0);
	sem_init(&mainGone, 0, 0);
	if (pthread_create(&t, NULL, second, NULL) != 0) {
		perror("pthread_create");
		return 1;
	}
	sem_wait(&started);
	printf("ready %d %d\n", (int)getpid(), (int)secondTID);
	fflush(stdout);

	// One byte at a time, so that nothing after the line is consumed.
	char line[64];
	size_t n = 0;
	while (n < sizeof line - 1 && read(0, line + n, 1) == 1 && line[n] != '\n') {
		n++;
	}
	line[n] = 0;
	if (strcmp(line, "pthread_exit") == 0) {
		sem_post(&mainGone);
		pthread_exit(NULL);
	}
	if (strcmp(line, "exit") == 0) {
		exit(0);
	}
	fprintf(stderr, "mainexit: unknown command \"%s\"\n", line);
	return 2;
}
