// C entry points for the Verilated ebpf_engine (see sim/src/rtl.rs).
//
// Inputs and outputs cross the boundary as two plain structs of 64-bit
// fields (mirrored by #[repr(C)] structs in Rust). eval() settles the
// combinational logic for the current inputs without a clock edge, so the
// harness can answer the engine's memory and helper requests within the
// clock; tick() is one rising and falling edge. The FIFO_MD and stack RAM
// arrays are reached directly (verilator public_flat_rw) for the harness's
// copies to and from the model's memory.
#include "Vebpf_engine.h"
#include "Vebpf_engine___024root.h"
#include "verilated.h"
#include <cstdint>

// FIFO_MD's valid bits (and the other one-bit-per-word ports) are 64 bits
// wide or fewer (QData) or wider (VlWide): 64-bit word k of either, read and
// written alike. The ring's size comes from the Verilated arrays themselves.
static uint64_t bits64(const QData& v, int k) { return k == 0 ? v : 0; }
template <std::size_t N> static uint64_t bits64(const VlWide<N>& v, int k) {
    uint64_t lo = 2 * k < (int)N ? v.at(2 * k) : 0;
    uint64_t hi = 2 * k + 1 < (int)N ? v.at(2 * k + 1) : 0;
    return lo | (hi << 32);
}
static void set_bits64(QData& v, int k, uint64_t x) {
    if (k == 0) v = x;
}
template <std::size_t N> static void set_bits64(VlWide<N>& v, int k, uint64_t x) {
    if (2 * k < (int)N) v.at(2 * k) = (EData)x;
    if (2 * k + 1 < (int)N) v.at(2 * k + 1) = (EData)(x >> 32);
}

struct EngIn {
    uint64_t budget, max_frames;
    uint64_t imem_wr, imem_wr_addr, imem_wr_data, imem_len_wr, imem_len, imem_swap;
    uint64_t pkt_push, pkt_start, pkt_len, pkt_writable, stack_en;
    uint64_t pkt_args[5];
    uint64_t fifo_wr, fifo_wr_word;
    uint64_t fifo_wr_data[4];
    uint64_t ext_rdata, ext_rd_fault, ext_wr_fault;
    uint64_t helper_ack, helper_ret, helper_unwind, helper_fault, helper_fault_code;
};

struct EngOut {
    uint64_t imem_active, imem_refused, pkt_pending;
    uint64_t ext_rd, ext_wr, ext_addr, ext_width, ext_wdata;
    uint64_t helper_req, helper_id, helper_args[5];
    uint64_t retire, retire_pc, reg_we, reg_idx, reg_val;
    uint64_t mem_v, mem_addr, mem_width, mem_rd, mem_rdata, mem_wr, mem_wdata;
    uint64_t fault, fault_code, done, r0;
    uint64_t running, stage_v, pc[5], seq[5], stall, flush, fwd_a, fwd_b, bank;
};

static void put(Vebpf_engine* m, const EngIn* i) {
    m->budget_i = i->budget;
    m->max_frames_i = i->max_frames;
    m->imem_wr_i = i->imem_wr;
    m->imem_wr_addr_i = i->imem_wr_addr;
    m->imem_wr_data_i = i->imem_wr_data;
    m->imem_len_wr_i = i->imem_len_wr;
    m->imem_len_i = i->imem_len;
    m->imem_swap_i = i->imem_swap;
    m->pkt_push_i = i->pkt_push;
    m->pkt_start_i = i->pkt_start;
    m->pkt_len_i = i->pkt_len;
    m->pkt_writable_i = i->pkt_writable;
    m->stack_en_i = i->stack_en;
    m->pkt_arg1_i = i->pkt_args[0];
    m->pkt_arg2_i = i->pkt_args[1];
    m->pkt_arg3_i = i->pkt_args[2];
    m->pkt_arg4_i = i->pkt_args[3];
    m->pkt_arg5_i = i->pkt_args[4];
    m->fifo_wr_i = i->fifo_wr;
    m->fifo_wr_word_i = i->fifo_wr_word;
    // No retired packets without a data plane: nothing is held.
    for (int k = 0; k < 2; k++) set_bits64(m->fifo_held_i, k, 0);
    for (int k = 0; k < 4; k++) {
        m->fifo_wr_data_i[2 * k] = (uint32_t)i->fifo_wr_data[k];
        m->fifo_wr_data_i[2 * k + 1] = (uint32_t)(i->fifo_wr_data[k] >> 32);
    }
    m->ext_rdata_i = i->ext_rdata;
    m->ext_rd_fault_i = i->ext_rd_fault;
    m->ext_wr_fault_i = i->ext_wr_fault;
    m->helper_ack_i = i->helper_ack;
    m->helper_ret_i = i->helper_ret;
    m->helper_unwind_i = i->helper_unwind;
    m->helper_fault_i = i->helper_fault;
    m->helper_fault_code_i = i->helper_fault_code;
}

static void get(Vebpf_engine* m, EngOut* o) {
    o->imem_active = m->imem_active_o;
    o->imem_refused = m->imem_refused_o;
    o->pkt_pending = m->pkt_pending_o;
    o->ext_rd = m->ext_rd_o;
    o->ext_wr = m->ext_wr_o;
    o->ext_addr = m->ext_addr_o;
    o->ext_width = m->ext_width_o;
    o->ext_wdata = m->ext_wdata_o;
    o->helper_req = m->helper_req_o;
    o->helper_id = m->helper_id_o;
    o->helper_args[0] = m->helper_arg1_o;
    o->helper_args[1] = m->helper_arg2_o;
    o->helper_args[2] = m->helper_arg3_o;
    o->helper_args[3] = m->helper_arg4_o;
    o->helper_args[4] = m->helper_arg5_o;
    o->retire = m->dbg_retire_o;
    o->retire_pc = m->dbg_retire_pc_o;
    o->reg_we = m->dbg_reg_we_o;
    o->reg_idx = m->dbg_reg_idx_o;
    o->reg_val = m->dbg_reg_val_o;
    o->mem_v = m->dbg_mem_v_o;
    o->mem_addr = m->dbg_mem_addr_o;
    o->mem_width = m->dbg_mem_width_o;
    o->mem_rd = m->dbg_mem_rd_o;
    o->mem_rdata = m->dbg_mem_rdata_o;
    o->mem_wr = m->dbg_mem_wr_o;
    o->mem_wdata = m->dbg_mem_wdata_o;
    o->fault = m->dbg_fault_o;
    o->fault_code = m->dbg_fault_code_o;
    o->done = m->dbg_done_o;
    o->r0 = m->dbg_r0_o;
    o->running = m->dbg_running_o;
    o->stage_v = m->dbg_stage_v_o;
    o->pc[0] = m->dbg_pc_if_o;
    o->pc[1] = m->dbg_pc_id_o;
    o->pc[2] = m->dbg_pc_ex_o;
    o->pc[3] = m->dbg_pc_mem_o;
    o->pc[4] = m->dbg_pc_wb_o;
    o->seq[0] = m->dbg_seq_if_o;
    o->seq[1] = m->dbg_seq_id_o;
    o->seq[2] = m->dbg_seq_ex_o;
    o->seq[3] = m->dbg_seq_mem_o;
    o->seq[4] = m->dbg_seq_wb_o;
    o->stall = m->dbg_stall_o;
    o->flush = m->dbg_flush_o;
    o->fwd_a = m->dbg_fwd_a_o;
    o->fwd_b = m->dbg_fwd_b_o;
    o->bank = m->dbg_bank_o;
}

// The RTL resets synchronously: inputs idle, rst_ni low over one clock
// edge, then released with the clock low.
static void reset(Vebpf_engine* m) {
    const EngIn idle = {};
    put(m, &idle);
    m->clk_i = 0;
    m->rst_ni = 0;
    m->eval();
    m->clk_i = 1;
    m->eval();
    m->clk_i = 0;
    m->eval();
    m->rst_ni = 1;
    m->eval();
}

extern "C" {

// Each model has its own context, so models in different threads (parallel
// tests) share no Verilator state.
struct Eng {
    VerilatedContext ctx;
    Vebpf_engine* m;
};

void* nfbpf_eng_new() {
    Eng* e = new Eng;
    e->m = new Vebpf_engine(&e->ctx);
    reset(e->m);
    return e;
}

void nfbpf_eng_free(void* p) {
    Eng* e = static_cast<Eng*>(p);
    delete e->m;
    delete e;
}

void nfbpf_eng_reset(void* p) {
    reset(static_cast<Eng*>(p)->m);
}

void nfbpf_eng_eval(void* p, const EngIn* i, EngOut* o) {
    Vebpf_engine* m = static_cast<Eng*>(p)->m;
    put(m, i);
    m->eval();
    get(m, o);
}

void nfbpf_eng_tick(void* p) {
    Vebpf_engine* m = static_cast<Eng*>(p)->m;
    m->clk_i = 1;
    m->eval();
    m->clk_i = 0;
    m->eval();
}

// FIFO_MD byte i (ring address) lives in lane i % 32, row i / 32, as
// A ^ B (see rtl/ebpf_fifo_md.v): read both, write A.
static CData* fifo_a(void* p, uint32_t i) {
    Vebpf_engine___024root* r = static_cast<Eng*>(p)->m->rootp;
    constexpr uint32_t rows = sizeof(r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__0__KET____DOT__a_q) /
                              sizeof(CData);
    uint32_t row = (i >> 5) % rows;
    switch (i & 31) {
    case 0: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__0__KET____DOT__a_q[row];
    case 1: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__1__KET____DOT__a_q[row];
    case 2: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__2__KET____DOT__a_q[row];
    case 3: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__3__KET____DOT__a_q[row];
    case 4: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__4__KET____DOT__a_q[row];
    case 5: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__5__KET____DOT__a_q[row];
    case 6: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__6__KET____DOT__a_q[row];
    case 7: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__7__KET____DOT__a_q[row];
    case 8: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__8__KET____DOT__a_q[row];
    case 9: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__9__KET____DOT__a_q[row];
    case 10: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__10__KET____DOT__a_q[row];
    case 11: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__11__KET____DOT__a_q[row];
    case 12: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__12__KET____DOT__a_q[row];
    case 13: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__13__KET____DOT__a_q[row];
    case 14: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__14__KET____DOT__a_q[row];
    case 15: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__15__KET____DOT__a_q[row];
    case 16: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__16__KET____DOT__a_q[row];
    case 17: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__17__KET____DOT__a_q[row];
    case 18: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__18__KET____DOT__a_q[row];
    case 19: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__19__KET____DOT__a_q[row];
    case 20: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__20__KET____DOT__a_q[row];
    case 21: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__21__KET____DOT__a_q[row];
    case 22: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__22__KET____DOT__a_q[row];
    case 23: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__23__KET____DOT__a_q[row];
    case 24: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__24__KET____DOT__a_q[row];
    case 25: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__25__KET____DOT__a_q[row];
    case 26: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__26__KET____DOT__a_q[row];
    case 27: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__27__KET____DOT__a_q[row];
    case 28: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__28__KET____DOT__a_q[row];
    case 29: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__29__KET____DOT__a_q[row];
    case 30: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__30__KET____DOT__a_q[row];
    case 31: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__31__KET____DOT__a_q[row];
    default: return nullptr;
    }
}

static CData* fifo_b(void* p, uint32_t i) {
    Vebpf_engine___024root* r = static_cast<Eng*>(p)->m->rootp;
    constexpr uint32_t rows = sizeof(r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__0__KET____DOT__a_q) /
                              sizeof(CData);
    uint32_t row = (i >> 5) % rows;
    switch (i & 31) {
    case 0: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__0__KET____DOT__b_q[row];
    case 1: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__1__KET____DOT__b_q[row];
    case 2: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__2__KET____DOT__b_q[row];
    case 3: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__3__KET____DOT__b_q[row];
    case 4: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__4__KET____DOT__b_q[row];
    case 5: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__5__KET____DOT__b_q[row];
    case 6: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__6__KET____DOT__b_q[row];
    case 7: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__7__KET____DOT__b_q[row];
    case 8: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__8__KET____DOT__b_q[row];
    case 9: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__9__KET____DOT__b_q[row];
    case 10: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__10__KET____DOT__b_q[row];
    case 11: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__11__KET____DOT__b_q[row];
    case 12: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__12__KET____DOT__b_q[row];
    case 13: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__13__KET____DOT__b_q[row];
    case 14: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__14__KET____DOT__b_q[row];
    case 15: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__15__KET____DOT__b_q[row];
    case 16: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__16__KET____DOT__b_q[row];
    case 17: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__17__KET____DOT__b_q[row];
    case 18: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__18__KET____DOT__b_q[row];
    case 19: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__19__KET____DOT__b_q[row];
    case 20: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__20__KET____DOT__b_q[row];
    case 21: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__21__KET____DOT__b_q[row];
    case 22: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__22__KET____DOT__b_q[row];
    case 23: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__23__KET____DOT__b_q[row];
    case 24: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__24__KET____DOT__b_q[row];
    case 25: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__25__KET____DOT__b_q[row];
    case 26: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__26__KET____DOT__b_q[row];
    case 27: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__27__KET____DOT__b_q[row];
    case 28: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__28__KET____DOT__b_q[row];
    case 29: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__29__KET____DOT__b_q[row];
    case 30: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__30__KET____DOT__b_q[row];
    case 31: return &r->ebpf_engine__DOT__u_fifo__DOT__gen_lane__BRA__31__KET____DOT__b_q[row];
    default: return nullptr;
    }
}

uint8_t nfbpf_eng_fifo_get(void* p, uint32_t i) { return *fifo_a(p, i) ^ *fifo_b(p, i); }

void nfbpf_eng_fifo_set(void* p, uint32_t i, uint8_t v) { *fifo_a(p, i) = v ^ *fifo_b(p, i); }

// Stack byte i lives in lane i % 8, row i / 8 (see rtl/ebpf_stack_ram.v).
static CData* stack_byte(void* p, uint32_t i) {
    Vebpf_engine___024root* r = static_cast<Eng*>(p)->m->rootp;
    uint32_t row = (i & 4095) >> 3;
    switch (i & 7) {
    case 0: return &r->ebpf_engine__DOT__u_stack__DOT__gen_lane__BRA__0__KET____DOT__mem_q[row];
    case 1: return &r->ebpf_engine__DOT__u_stack__DOT__gen_lane__BRA__1__KET____DOT__mem_q[row];
    case 2: return &r->ebpf_engine__DOT__u_stack__DOT__gen_lane__BRA__2__KET____DOT__mem_q[row];
    case 3: return &r->ebpf_engine__DOT__u_stack__DOT__gen_lane__BRA__3__KET____DOT__mem_q[row];
    case 4: return &r->ebpf_engine__DOT__u_stack__DOT__gen_lane__BRA__4__KET____DOT__mem_q[row];
    case 5: return &r->ebpf_engine__DOT__u_stack__DOT__gen_lane__BRA__5__KET____DOT__mem_q[row];
    case 6: return &r->ebpf_engine__DOT__u_stack__DOT__gen_lane__BRA__6__KET____DOT__mem_q[row];
    default: return &r->ebpf_engine__DOT__u_stack__DOT__gen_lane__BRA__7__KET____DOT__mem_q[row];
    }
}

uint8_t nfbpf_eng_stack_get(void* p, uint32_t i) { return *stack_byte(p, i); }

void nfbpf_eng_stack_set(void* p, uint32_t i, uint8_t v) { *stack_byte(p, i) = v; }

}

extern "C" {

// 64-bit word k (bits 64k..64k+63) of FIFO_MD's valid bits.
uint64_t nfbpf_eng_valid_get(void* p, uint32_t k) {
    return bits64(static_cast<Eng*>(p)->m->rootp->ebpf_engine__DOT__u_fifo__DOT__valid_q, (int)k);
}

void nfbpf_eng_valid_set(void* p, uint32_t k, uint64_t v) {
    set_bits64(static_cast<Eng*>(p)->m->rootp->ebpf_engine__DOT__u_fifo__DOT__valid_q, (int)k, v);
}

}
