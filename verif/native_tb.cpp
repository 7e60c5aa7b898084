// Native Verilator regression harness for one generated PE (bitbranch verif/native.py fills the @...@ fields).
// Reads vectors (packed w, packed a, expected y) from a binary file made by the Python reference model,
// drives the port contract (valid/ready, optional pseudo-random stalls), checks every y in order and
// prints one summary line: "native: <passed> passed, <failed> failed, <vectors/s> vectors/s, <cycles> cycles".
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "verilated.h"
#include "V@TOP@.h"

static const int W_WORDS = @W_WORDS@;   // 32-bit words of the packed weight bus
static const int A_WORDS = @A_WORDS@;   // 32-bit words of the packed activation bus
static const int OUT_WIDTH = @OUT_WIDTH@;
static const int RECORD_WORDS = W_WORDS + A_WORDS + 2;  // + expected y as int64 (two words, little endian)

static inline void set_w(V@TOP@* t, const uint32_t* p) { @SET_W@ }
static inline void set_a(V@TOP@* t, const uint32_t* p) { @SET_A@ }
static inline int64_t get_y(V@TOP@* t) {
    uint64_t raw = (uint64_t)(t->y);
    return (int64_t)(raw << (64 - OUT_WIDTH)) >> (64 - OUT_WIDTH);
}

static uint32_t xorshift(uint32_t& s) {
    s ^= s << 13; s ^= s >> 17; s ^= s << 5;
    return s;
}

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s VECTORS.bin STALLS(0|1) [SEED]\n", argv[0]);
        return 2;
    }
    FILE* f = std::fopen(argv[1], "rb");
    if (!f) { std::fprintf(stderr, "native: cannot open %s\n", argv[1]); return 2; }
    std::vector<uint32_t> data;
    uint32_t buf[4096];
    size_t got;
    while ((got = std::fread(buf, sizeof(uint32_t), 4096, f)) > 0) data.insert(data.end(), buf, buf + got);
    std::fclose(f);
    if (data.size() % RECORD_WORDS) { std::fprintf(stderr, "native: %s is not a whole number of records\n", argv[1]); return 2; }
    const long n = (long)(data.size() / RECORD_WORDS);
    const bool stalls = std::atoi(argv[2]) != 0;
    uint32_t rng = argc > 3 ? (uint32_t)std::strtoul(argv[3], nullptr, 10) | 1u : 1u;

    Verilated::commandArgs(argc, argv);
    V@TOP@* t = new V@TOP@;
    t->clk = 0; t->rst_n = 0; t->in_valid = 0; t->out_ready = 0;
    for (int i = 0; i < 4; i++) { t->clk = 0; t->eval(); t->clk = 1; t->eval(); }
    t->rst_n = 1;

    long sent = 0, recv = 0, failed = 0, cycles = 0, idle = 0;
    auto t0 = std::chrono::steady_clock::now();
    while (recv < n) {
        uint32_t r = stalls ? xorshift(rng) : 0xffffffffu;
        bool offer = sent < n && (!stalls || (r & 3u) != 0);
        t->in_valid = offer;
        if (offer) {
            const uint32_t* rec = &data[(size_t)sent * RECORD_WORDS];
            set_w(t, rec);
            set_a(t, rec + W_WORDS);
        }
        t->out_ready = !stalls || ((r >> 2) & 3u) != 0;
        t->clk = 0; t->eval();
        bool accepted = offer && t->in_ready;
        if (t->out_valid && t->out_ready) {
            const uint32_t* rec = &data[(size_t)recv * RECORD_WORDS];
            int64_t expect = (int64_t)((uint64_t)rec[W_WORDS + A_WORDS] | ((uint64_t)rec[W_WORDS + A_WORDS + 1] << 32));
            int64_t y = get_y(t);
            if (y != expect) {
                if (failed < 5) std::fprintf(stderr, "native: vector %ld: expected y=%lld, got %lld\n", recv,
                                             (long long)expect, (long long)y);
                failed++;
            }
            recv++;
            idle = 0;
        } else if (++idle > 10000) {
            std::fprintf(stderr, "native: no output for 10000 cycles after %ld of %ld vectors (hang)\n", recv, n);
            failed += n - recv;
            break;
        }
        t->clk = 1; t->eval();
        if (accepted) sent++;
        cycles++;
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    t->final();
    delete t;
    std::printf("native: %ld passed, %ld failed, %.0f vectors/s, %ld cycles\n", n - failed, failed, s > 0 ? n / s : 0.0,
                cycles);
    return failed ? 1 : 0;
}
