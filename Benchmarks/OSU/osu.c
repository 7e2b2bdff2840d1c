// The loops of the OSU micro-benchmarks osu_latency, osu_bw and osu_bibw, in C over MPI: what
// `cf-bench osu` runs beside the same loops written with the Swift MPI module (cf-osu), so that the
// two can be compared in one run. Build: mpicc -O2 -o osu-c osu.c. Run with 2 ranks:
//   mpiexec -n 2 ./osu-c latency|bw|bibw [MAX_SIZE]
// Rank 0 prints one line per message size: "SIZE VALUE" (microseconds for latency, MB/s for the
// bandwidths, 1 MB = 10^6 bytes, as the OSU benchmarks print them).
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WINDOW = 64, LARGE = 8192 };

static int iterations(const char *test, long size) {
    if (strcmp(test, "latency") == 0) return size > LARGE ? 1000 : 10000;
    return size > LARGE ? 20 : 100;
}

static int skipped(const char *test, long size) {
    if (strcmp(test, "latency") == 0) return size > LARGE ? 10 : 100;
    return size > LARGE ? 2 : 10;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc < 2 || size != 2) {
        if (rank == 0) fprintf(stderr, "usage: mpiexec -n 2 osu-c latency|bw|bibw [MAX_SIZE]\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    const char *test = argv[1];
    long maxSize = argc > 2 ? atol(argv[2]) : 4L << 20;
    char *send = malloc(maxSize * WINDOW), *receive = malloc(maxSize * WINDOW);
    memset(send, 'a', maxSize * WINDOW);
    memset(receive, 'b', maxSize * WINDOW);
    MPI_Request requests[2 * WINDOW];
    MPI_Status statuses[2 * WINDOW];  // not MPI_STATUSES_IGNORE, which GCC takes for an empty array
    int peer = 1 - rank;
    for (long bytes = 1; bytes <= maxSize; bytes *= 2) {
        int loop = iterations(test, bytes), skip = skipped(test, bytes);
        double start = 0;
        MPI_Barrier(MPI_COMM_WORLD);
        for (int i = 0; i < loop + skip; i++) {
            if (i == skip) start = MPI_Wtime();
            if (strcmp(test, "latency") == 0) {
                if (rank == 0) {
                    MPI_Send(send, (int)bytes, MPI_CHAR, peer, 1, MPI_COMM_WORLD);
                    MPI_Recv(receive, (int)bytes, MPI_CHAR, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                } else {
                    MPI_Recv(receive, (int)bytes, MPI_CHAR, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                    MPI_Send(send, (int)bytes, MPI_CHAR, peer, 1, MPI_COMM_WORLD);
                }
            } else if (strcmp(test, "bw") == 0) {
                if (rank == 0) {
                    for (int w = 0; w < WINDOW; w++)
                        MPI_Isend(send + w * bytes, (int)bytes, MPI_CHAR, peer, 100, MPI_COMM_WORLD, &requests[w]);
                    MPI_Waitall(WINDOW, requests, statuses);
                    MPI_Recv(receive, 4, MPI_CHAR, peer, 101, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                } else {
                    for (int w = 0; w < WINDOW; w++)
                        MPI_Irecv(receive + w * bytes, (int)bytes, MPI_CHAR, peer, 100, MPI_COMM_WORLD, &requests[w]);
                    MPI_Waitall(WINDOW, requests, statuses);
                    MPI_Send(send, 4, MPI_CHAR, peer, 101, MPI_COMM_WORLD);
                }
            } else {
                for (int w = 0; w < WINDOW; w++)
                    MPI_Irecv(receive + w * bytes, (int)bytes, MPI_CHAR, peer, 10, MPI_COMM_WORLD, &requests[w]);
                for (int w = 0; w < WINDOW; w++)
                    MPI_Isend(send + w * bytes, (int)bytes, MPI_CHAR, peer, 10, MPI_COMM_WORLD, &requests[WINDOW + w]);
                MPI_Waitall(2 * WINDOW, requests, statuses);
            }
        }
        double elapsed = MPI_Wtime() - start;
        if (rank == 0) {
            double value;
            if (strcmp(test, "latency") == 0) value = elapsed * 1e6 / (2.0 * loop);
            else if (strcmp(test, "bw") == 0) value = (double)bytes * loop * WINDOW / 1e6 / elapsed;
            else value = (double)bytes * loop * WINDOW * 2 / 1e6 / elapsed;
            printf("%ld %.3f\n", bytes, value);
            fflush(stdout);
        }
    }
    free(send);
    free(receive);
    MPI_Finalize();
    return 0;
}
