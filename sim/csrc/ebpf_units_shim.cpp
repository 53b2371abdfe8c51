// C entry points for the Verilated ebpf_units with ENGINES = 4 (see
// sim/src/rtl.rs). Per-engine vectors cross as arrays of 64-bit fields and
// are packed into Verilator's 32-bit words here. eval() settles the
// combinational logic; tick() is one rising and falling edge.
#include "Vebpf_units.h"
#include "verilated.h"
#include <cstdint>

static const int N = 4;

struct UnitsIn {
    uint64_t cycle, pkt_start, helper_req;
    uint64_t helper_id[N];
    uint64_t args[N][5];
    uint64_t ext_rd, ext_wr;
    uint64_t ext_addr[N];
    uint64_t mreg_wr, mreg_rd, mreg_addr, mreg_wdata;
};

struct UnitsOut {
    uint64_t helper_ack, helper_unwind, helper_fault;
    uint64_t helper_ret[N];
    uint64_t helper_fault_code[N];
    uint64_t ext_rd_fault, ext_wr_fault;
    uint64_t ext_rdata[N];
    uint64_t mapwait[N];
    uint64_t arb_state, mreg_rdata, mreg_err;
};

struct Units {
    VerilatedContext ctx;
    Vebpf_units* m;
};

template <class T> static void put64(T& w, int e, uint64_t v) {
    w[2 * e] = (uint32_t)v;
    w[2 * e + 1] = (uint32_t)(v >> 32);
}

template <class T> static uint64_t get64(const T& w, int e) {
    return (uint64_t)w[2 * e] | ((uint64_t)w[2 * e + 1] << 32);
}

extern "C" {

void* nfbpf_units_new() {
    Units* u = new Units;
    u->m = new Vebpf_units(&u->ctx);
    u->m->clk_i = 0;
    u->m->rst_ni = 0;
    u->m->eval();
    u->m->clk_i = 1;
    u->m->eval();
    u->m->clk_i = 0;
    u->m->rst_ni = 1;
    u->m->eval();
    return u;
}

void nfbpf_units_free(void* p) {
    Units* u = static_cast<Units*>(p);
    delete u->m;
    delete u;
}

void nfbpf_units_eval(void* p, const UnitsIn* i, UnitsOut* o) {
    Vebpf_units* m = static_cast<Units*>(p)->m;
    m->cycle_i = i->cycle;
    m->pkt_start_i = i->pkt_start;
    m->helper_req_i = i->helper_req;
    for (int e = 0; e < N; e++) {
        m->helper_id_i[e] = (uint32_t)i->helper_id[e];
        put64(m->helper_arg1_i, e, i->args[e][0]);
        put64(m->helper_arg2_i, e, i->args[e][1]);
        put64(m->helper_arg3_i, e, i->args[e][2]);
        put64(m->helper_arg4_i, e, i->args[e][3]);
        put64(m->helper_arg5_i, e, i->args[e][4]);
        put64(m->ext_addr_i, e, i->ext_addr[e]);
    }
    m->ext_rd_i = i->ext_rd;
    m->ext_wr_i = i->ext_wr;
    m->mreg_wr_i = i->mreg_wr;
    m->mreg_rd_i = i->mreg_rd;
    m->mreg_addr_i = i->mreg_addr;
    m->mreg_wdata_i = i->mreg_wdata;
    m->eval();
    o->helper_ack = m->helper_ack_o;
    o->helper_unwind = m->helper_unwind_o;
    o->helper_fault = m->helper_fault_o;
    for (int e = 0; e < N; e++) {
        o->helper_ret[e] = get64(m->helper_ret_o, e);
        o->helper_fault_code[e] = (m->helper_fault_code_o >> (3 * e)) & 7;
        o->ext_rdata[e] = get64(m->ext_rdata_o, e);
        o->mapwait[e] = m->mapwait_o[e];
    }
    o->ext_rd_fault = m->ext_rd_fault_o;
    o->ext_wr_fault = m->ext_wr_fault_o;
    o->arb_state = m->arb_state_o;
    o->mreg_rdata = m->mreg_rdata_o;
    o->mreg_err = m->mreg_err_o;
}

void nfbpf_units_tick(void* p) {
    Vebpf_units* m = static_cast<Units*>(p)->m;
    m->clk_i = 1;
    m->eval();
    m->clk_i = 0;
    m->eval();
}

}
