// C entry points for the Verilated ebpf_dataplane (see sim/src/device.rs).
//
// Built with ENGINES = 4 (sim/build.rs); DP_ENGINES below must match. Inputs
// and outputs cross the boundary as two plain structs of 64-bit fields
// (mirrored by #[repr(C)] structs in Rust); per-engine one-bit signals are
// bit masks (engine e at bit e). eval() settles the combinational logic for
// the current inputs without a clock edge (the harness sees a frame's
// acceptance in the clock of its first beat); tick() is one
// rising and falling edge. Frames leave on the egress AXI4-Stream (m_axis_*).
#include "Vebpf_dataplane.h"
#include "verilated.h"
#include "verilated_vcd_c.h"
#include <cstdint>

#define DP_ENGINES 4

struct DpIn {
    uint64_t budget;
    uint64_t tdata[4][4];
    uint64_t tkeep[4];
    uint64_t tuser[4];
    uint64_t tlast, tvalid;
    uint64_t awaddr, awvalid, wdata, wvalid, bready, araddr, arvalid, rready;
    uint64_t m_tready;
};

struct DpOut {
    uint64_t tready, rx_acc, rx_drop, rx_eng[4];
    uint64_t out_v, out_kind[DP_ENGINES], out_port[DP_ENGINES], out_bank;
    uint64_t awready, wready, bresp, bvalid, arready, rdata, rresp, rvalid;
    uint64_t cycle;
    uint64_t m_tdata[4], m_tkeep, m_tuser[2], m_tlast, m_tvalid;
};

static void wput(uint32_t* w, int lsb, int n, uint64_t v) {
    for (int i = 0; i < n; i++) {
        int b = lsb + i;
        uint32_t bit = (uint32_t)((v >> i) & 1);
        w[b / 32] = (w[b / 32] & ~(1u << (b % 32))) | (bit << (b % 32));
    }
}

static uint64_t wget(const uint32_t* w, int lsb, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        int b = lsb + i;
        v |= (uint64_t)((w[b / 32] >> (b % 32)) & 1) << i;
    }
    return v;
}

// 64-bit aligned fields: whole words.
static void put64(uint32_t* w, int k, uint64_t v) {
    w[2 * k] = (uint32_t)v;
    w[2 * k + 1] = (uint32_t)(v >> 32);
}

static uint64_t get64(const uint32_t* w, int k) {
    return (uint64_t)w[2 * k] | ((uint64_t)w[2 * k + 1] << 32);
}

struct Dp {
    VerilatedContext ctx;
    Vebpf_dataplane* m;
    // VCD of every signal once nfbpf_dp_trace opened one (debug records).
    VerilatedVcdC* vcd = nullptr;
    uint64_t vcd_time = 0;
};

static void put(Vebpf_dataplane* m, const DpIn* i) {
    m->budget_i = i->budget;
    for (int p = 0; p < 4; p++) {
        for (int k = 0; k < 4; k++) put64(m->s_axis_tdata_i.data(), 4 * p + k, i->tdata[p][k]);
        wput(m->s_axis_tkeep_i.data(), 32 * p, 32, i->tkeep[p]);
        put64(m->s_axis_tuser_i.data(), 2 * p, i->tuser[p]);
        put64(m->s_axis_tuser_i.data(), 2 * p + 1, 0);
    }
    m->s_axis_tlast_i = i->tlast;
    m->s_axis_tvalid_i = i->tvalid;
    m->s_axil_awaddr_i = i->awaddr;
    m->s_axil_awvalid_i = i->awvalid;
    m->s_axil_wdata_i = i->wdata;
    m->s_axil_wstrb_i = 0xf;
    m->s_axil_wvalid_i = i->wvalid;
    m->s_axil_bready_i = i->bready;
    m->s_axil_araddr_i = i->araddr;
    m->s_axil_arvalid_i = i->arvalid;
    m->s_axil_rready_i = i->rready;
    m->m_axis_tready_i = i->m_tready;
}

static void get(Vebpf_dataplane* m, DpOut* o) {
    o->tready = m->s_axis_tready_o;
    o->rx_acc = m->rx_acc_o;
    o->rx_drop = m->rx_drop_o;
    for (int p = 0; p < 4; p++) o->rx_eng[p] = (m->rx_eng_o >> (4 * p)) & 15;
    o->out_v = m->out_v_o;
    o->out_bank = m->out_bank_o;
    for (int e = 0; e < DP_ENGINES; e++) {
        o->out_kind[e] = (m->out_kind_o >> (3 * e)) & 7;
        o->out_port[e] = wget(m->out_port_o.data(), 32 * e, 32);
    }
    o->awready = m->s_axil_awready_o;
    o->wready = m->s_axil_wready_o;
    o->bresp = m->s_axil_bresp_o;
    o->bvalid = m->s_axil_bvalid_o;
    o->arready = m->s_axil_arready_o;
    o->rdata = m->s_axil_rdata_o;
    o->rresp = m->s_axil_rresp_o;
    o->rvalid = m->s_axil_rvalid_o;
    o->cycle = m->cycle_o;
    for (int k = 0; k < 4; k++) o->m_tdata[k] = get64(m->m_axis_tdata_o.data(), k);
    o->m_tkeep = m->m_axis_tkeep_o;
    for (int k = 0; k < 2; k++) o->m_tuser[k] = get64(m->m_axis_tuser_o.data(), k);
    o->m_tlast = m->m_axis_tlast_o;
    o->m_tvalid = m->m_axis_tvalid_o;
}

extern "C" {

uint32_t nfbpf_dp_engines() { return DP_ENGINES; }

void* nfbpf_dp_new() {
    Dp* d = new Dp;
    d->m = new Vebpf_dataplane(&d->ctx);
    return d;
}

void nfbpf_dp_free(void* p) {
    Dp* d = static_cast<Dp*>(p);
    if (d->vcd) {
        // A model that traced is not destroyed: with Verilator 5.006, once
        // one is, destroying any other model of the process hangs (in
        // VerilatedContextImp::scopeErase). It stays until the process
        // ends (one per co-simulation mismatch).
        d->vcd->close();
        return;
    }
    delete d->m;
    delete d;
}

// Reset: inputs idle, rst_ni low over one edge, then released.
void nfbpf_dp_reset(void* p, const DpIn* i) {
    Vebpf_dataplane* m = static_cast<Dp*>(p)->m;
    put(m, i);
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

void nfbpf_dp_eval(void* p, const DpIn* i, DpOut* o) {
    Vebpf_dataplane* m = static_cast<Dp*>(p)->m;
    put(m, i);
    m->eval();
    get(m, o);
}

void nfbpf_dp_tick(void* p) {
    Dp* d = static_cast<Dp*>(p);
    Vebpf_dataplane* m = d->m;
    // VCD: the settled clock at 10k, the rising edge at 10k + 5.
    if (d->vcd) d->vcd->dump(d->vcd_time);
    m->clk_i = 1;
    m->eval();
    if (d->vcd) d->vcd->dump(d->vcd_time + 5);
    d->vcd_time += 10;
    m->clk_i = 0;
    m->eval();
}

}

// ---------------------------------------------------------------------
// Debug records: every engine's dbg_* ports (read only when the harness
// records), and the VCD trace.
// ---------------------------------------------------------------------

struct DpDbg {
    // One-bit signals as bit masks (engine e at bit e).
    uint64_t retire, reg_we, mem_v, mem_rd, mem_wr, fault, done, running, flush, bank;
    uint64_t retire_pc[DP_ENGINES], reg_idx[DP_ENGINES], reg_val[DP_ENGINES];
    uint64_t mem_addr[DP_ENGINES], mem_width[DP_ENGINES], mem_rdata[DP_ENGINES];
    uint64_t mem_wdata[DP_ENGINES], fault_code[DP_ENGINES], stage_v[DP_ENGINES];
    uint64_t pc[DP_ENGINES][5], seq[DP_ENGINES][5];
    uint64_t stall[DP_ENGINES], fwd_a[DP_ENGINES], fwd_b[DP_ENGINES];
};

// Field e of a flattened port of at most 64 bits.
static uint64_t nfield(uint64_t v, int e, int w) {
    return (v >> (w * e)) & (w == 64 ? ~0ull : ((1ull << w) - 1));
}

extern "C" {

void nfbpf_dp_dbg(void* p, DpDbg* o) {
    Vebpf_dataplane* m = static_cast<Dp*>(p)->m;
    o->retire = m->dbg_retire_o;
    o->reg_we = m->dbg_reg_we_o;
    o->mem_v = m->dbg_mem_v_o;
    o->mem_rd = m->dbg_mem_rd_o;
    o->mem_wr = m->dbg_mem_wr_o;
    o->fault = m->dbg_fault_o;
    o->done = m->dbg_done_o;
    o->running = m->dbg_running_o;
    o->flush = m->dbg_flush_o;
    o->bank = m->dbg_bank_o;
    for (int e = 0; e < DP_ENGINES; e++) {
        o->retire_pc[e] = wget(m->dbg_retire_pc_o.data(), 32 * e, 32);
        o->reg_idx[e] = nfield(m->dbg_reg_idx_o, e, 4);
        o->reg_val[e] = get64(m->dbg_reg_val_o.data(), e);
        o->mem_addr[e] = get64(m->dbg_mem_addr_o.data(), e);
        o->mem_width[e] = nfield(m->dbg_mem_width_o, e, 2);
        o->mem_rdata[e] = get64(m->dbg_mem_rdata_o.data(), e);
        o->mem_wdata[e] = get64(m->dbg_mem_wdata_o.data(), e);
        o->fault_code[e] = nfield(m->dbg_fault_code_o, e, 3);
        o->stage_v[e] = nfield(m->dbg_stage_v_o, e, 5);
        o->pc[e][0] = wget(m->dbg_pc_if_o.data(), 32 * e, 32);
        o->pc[e][1] = wget(m->dbg_pc_id_o.data(), 32 * e, 32);
        o->pc[e][2] = wget(m->dbg_pc_ex_o.data(), 32 * e, 32);
        o->pc[e][3] = wget(m->dbg_pc_mem_o.data(), 32 * e, 32);
        o->pc[e][4] = wget(m->dbg_pc_wb_o.data(), 32 * e, 32);
        o->seq[e][0] = wget(m->dbg_seq_if_o.data(), 32 * e, 32);
        o->seq[e][1] = wget(m->dbg_seq_id_o.data(), 32 * e, 32);
        o->seq[e][2] = wget(m->dbg_seq_ex_o.data(), 32 * e, 32);
        o->seq[e][3] = wget(m->dbg_seq_mem_o.data(), 32 * e, 32);
        o->seq[e][4] = wget(m->dbg_seq_wb_o.data(), 32 * e, 32);
        o->stall[e] = nfield(m->dbg_stall_o, e, 4);
        o->fwd_a[e] = nfield(m->dbg_fwd_a_o, e, 2);
        o->fwd_b[e] = nfield(m->dbg_fwd_b_o, e, 2);
    }
}

// Start a VCD of every signal at `path` (from the next clock on). 0 on
// success, -1 when the file cannot be opened.
int nfbpf_dp_trace(void* p, const char* path) {
    Dp* d = static_cast<Dp*>(p);
    if (d->vcd) return 0;
    d->ctx.traceEverOn(true);
    d->vcd = new VerilatedVcdC;
    d->m->trace(d->vcd, 99);
    d->vcd->open(path);
    if (!d->vcd->isOpen()) {
        delete d->vcd;
        d->vcd = nullptr;
        return -1;
    }
    return 0;
}

// Write what the VCD holds so far to its file.
void nfbpf_dp_trace_flush(void* p) {
    Dp* d = static_cast<Dp*>(p);
    if (d->vcd) d->vcd->flush();
}

}
