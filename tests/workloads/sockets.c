/* Opens an AF_INET datagram socket and an AF_UNIX socketpair and calls personality(0xffffffff):
 * argument values the recorder keeps for runtime/default's argument rules. */
#include <sys/personality.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int pair[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
    personality(0xffffffff);
    return fd >= 0 ? 0 : 1;
}
