// C entry points for the Verilated ebpf_alu (see sim/src/rtl.rs).
#include "Vebpf_alu.h"
#include "verilated.h"
#include <cstdint>

extern "C" {

void* nfbpf_alu_new() { return new Vebpf_alu; }

void nfbpf_alu_free(void* p) { delete static_cast<Vebpf_alu*>(p); }

uint64_t nfbpf_alu_eval(void* p, uint32_t op, uint32_t wide, uint32_t off, uint32_t imm,
                        uint32_t end_be, uint32_t swap, uint64_t a, uint64_t b) {
    Vebpf_alu* m = static_cast<Vebpf_alu*>(p);
    m->op_i = op;
    m->wide_i = wide;
    m->off_i = off;
    m->imm_i = imm;
    m->end_be_i = end_be;
    m->swap_i = swap;
    m->a_i = a;
    m->b_i = b;
    m->eval();
    return m->y_o;
}

}
