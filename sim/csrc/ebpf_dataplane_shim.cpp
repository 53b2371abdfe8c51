// C entry points for the Verilated ebpf_dataplane (see sim/src/device.rs).
//
// Built with ENGINES = 4 (sim/build.rs); DP_ENGINES below must match. Inputs
// and outputs cross the boundary as two plain structs of 64-bit fields
// (mirrored by #[repr(C)] structs in Rust); per-engine one-bit signals are
// bit masks (engine e at bit e). eval() settles the combinational logic for
// the current inputs without a clock edge (the harness sees a frame's
// acceptance in the clock of its first beat); tick() is one
// rising and falling edge. The engines' FIFO_MD lanes are reached directly
// (verilator public_flat_rw) to read the frame at a verdict.
#include "Vebpf_dataplane.h"
#include "Vebpf_dataplane___024root.h"
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
};

struct DpOut {
    uint64_t tready, rx_acc, rx_drop, rx_eng[4];
    uint64_t out_v, out_kind[DP_ENGINES], out_port[DP_ENGINES], out_bank;
    uint64_t awready, wready, bresp, bvalid, arready, rdata, rresp, rvalid;
    uint64_t cycle;
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
    CData* a[DP_ENGINES][32];
    CData* b[DP_ENGINES][32];
    QData* valid[DP_ENGINES];
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
}

extern "C" {

uint32_t nfbpf_dp_engines() { return DP_ENGINES; }

void* nfbpf_dp_new() {
    Dp* d = new Dp;
    d->m = new Vebpf_dataplane(&d->ctx);
    Vebpf_dataplane___024root* r = d->m->rootp;
    d->a[0][0] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__0__KET____DOT__a_q[0];
    d->b[0][0] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__0__KET____DOT__b_q[0];
    d->a[0][1] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__1__KET____DOT__a_q[0];
    d->b[0][1] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__1__KET____DOT__b_q[0];
    d->a[0][2] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__2__KET____DOT__a_q[0];
    d->b[0][2] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__2__KET____DOT__b_q[0];
    d->a[0][3] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__3__KET____DOT__a_q[0];
    d->b[0][3] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__3__KET____DOT__b_q[0];
    d->a[0][4] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__4__KET____DOT__a_q[0];
    d->b[0][4] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__4__KET____DOT__b_q[0];
    d->a[0][5] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__5__KET____DOT__a_q[0];
    d->b[0][5] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__5__KET____DOT__b_q[0];
    d->a[0][6] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__6__KET____DOT__a_q[0];
    d->b[0][6] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__6__KET____DOT__b_q[0];
    d->a[0][7] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__7__KET____DOT__a_q[0];
    d->b[0][7] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__7__KET____DOT__b_q[0];
    d->a[0][8] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__8__KET____DOT__a_q[0];
    d->b[0][8] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__8__KET____DOT__b_q[0];
    d->a[0][9] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__9__KET____DOT__a_q[0];
    d->b[0][9] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__9__KET____DOT__b_q[0];
    d->a[0][10] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__10__KET____DOT__a_q[0];
    d->b[0][10] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__10__KET____DOT__b_q[0];
    d->a[0][11] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__11__KET____DOT__a_q[0];
    d->b[0][11] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__11__KET____DOT__b_q[0];
    d->a[0][12] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__12__KET____DOT__a_q[0];
    d->b[0][12] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__12__KET____DOT__b_q[0];
    d->a[0][13] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__13__KET____DOT__a_q[0];
    d->b[0][13] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__13__KET____DOT__b_q[0];
    d->a[0][14] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__14__KET____DOT__a_q[0];
    d->b[0][14] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__14__KET____DOT__b_q[0];
    d->a[0][15] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__15__KET____DOT__a_q[0];
    d->b[0][15] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__15__KET____DOT__b_q[0];
    d->a[0][16] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__16__KET____DOT__a_q[0];
    d->b[0][16] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__16__KET____DOT__b_q[0];
    d->a[0][17] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__17__KET____DOT__a_q[0];
    d->b[0][17] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__17__KET____DOT__b_q[0];
    d->a[0][18] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__18__KET____DOT__a_q[0];
    d->b[0][18] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__18__KET____DOT__b_q[0];
    d->a[0][19] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__19__KET____DOT__a_q[0];
    d->b[0][19] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__19__KET____DOT__b_q[0];
    d->a[0][20] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__20__KET____DOT__a_q[0];
    d->b[0][20] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__20__KET____DOT__b_q[0];
    d->a[0][21] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__21__KET____DOT__a_q[0];
    d->b[0][21] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__21__KET____DOT__b_q[0];
    d->a[0][22] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__22__KET____DOT__a_q[0];
    d->b[0][22] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__22__KET____DOT__b_q[0];
    d->a[0][23] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__23__KET____DOT__a_q[0];
    d->b[0][23] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__23__KET____DOT__b_q[0];
    d->a[0][24] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__24__KET____DOT__a_q[0];
    d->b[0][24] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__24__KET____DOT__b_q[0];
    d->a[0][25] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__25__KET____DOT__a_q[0];
    d->b[0][25] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__25__KET____DOT__b_q[0];
    d->a[0][26] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__26__KET____DOT__a_q[0];
    d->b[0][26] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__26__KET____DOT__b_q[0];
    d->a[0][27] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__27__KET____DOT__a_q[0];
    d->b[0][27] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__27__KET____DOT__b_q[0];
    d->a[0][28] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__28__KET____DOT__a_q[0];
    d->b[0][28] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__28__KET____DOT__b_q[0];
    d->a[0][29] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__29__KET____DOT__a_q[0];
    d->b[0][29] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__29__KET____DOT__b_q[0];
    d->a[0][30] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__30__KET____DOT__a_q[0];
    d->b[0][30] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__30__KET____DOT__b_q[0];
    d->a[0][31] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__31__KET____DOT__a_q[0];
    d->b[0][31] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__31__KET____DOT__b_q[0];
    d->a[1][0] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__0__KET____DOT__a_q[0];
    d->b[1][0] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__0__KET____DOT__b_q[0];
    d->a[1][1] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__1__KET____DOT__a_q[0];
    d->b[1][1] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__1__KET____DOT__b_q[0];
    d->a[1][2] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__2__KET____DOT__a_q[0];
    d->b[1][2] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__2__KET____DOT__b_q[0];
    d->a[1][3] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__3__KET____DOT__a_q[0];
    d->b[1][3] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__3__KET____DOT__b_q[0];
    d->a[1][4] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__4__KET____DOT__a_q[0];
    d->b[1][4] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__4__KET____DOT__b_q[0];
    d->a[1][5] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__5__KET____DOT__a_q[0];
    d->b[1][5] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__5__KET____DOT__b_q[0];
    d->a[1][6] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__6__KET____DOT__a_q[0];
    d->b[1][6] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__6__KET____DOT__b_q[0];
    d->a[1][7] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__7__KET____DOT__a_q[0];
    d->b[1][7] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__7__KET____DOT__b_q[0];
    d->a[1][8] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__8__KET____DOT__a_q[0];
    d->b[1][8] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__8__KET____DOT__b_q[0];
    d->a[1][9] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__9__KET____DOT__a_q[0];
    d->b[1][9] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__9__KET____DOT__b_q[0];
    d->a[1][10] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__10__KET____DOT__a_q[0];
    d->b[1][10] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__10__KET____DOT__b_q[0];
    d->a[1][11] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__11__KET____DOT__a_q[0];
    d->b[1][11] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__11__KET____DOT__b_q[0];
    d->a[1][12] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__12__KET____DOT__a_q[0];
    d->b[1][12] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__12__KET____DOT__b_q[0];
    d->a[1][13] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__13__KET____DOT__a_q[0];
    d->b[1][13] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__13__KET____DOT__b_q[0];
    d->a[1][14] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__14__KET____DOT__a_q[0];
    d->b[1][14] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__14__KET____DOT__b_q[0];
    d->a[1][15] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__15__KET____DOT__a_q[0];
    d->b[1][15] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__15__KET____DOT__b_q[0];
    d->a[1][16] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__16__KET____DOT__a_q[0];
    d->b[1][16] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__16__KET____DOT__b_q[0];
    d->a[1][17] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__17__KET____DOT__a_q[0];
    d->b[1][17] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__17__KET____DOT__b_q[0];
    d->a[1][18] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__18__KET____DOT__a_q[0];
    d->b[1][18] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__18__KET____DOT__b_q[0];
    d->a[1][19] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__19__KET____DOT__a_q[0];
    d->b[1][19] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__19__KET____DOT__b_q[0];
    d->a[1][20] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__20__KET____DOT__a_q[0];
    d->b[1][20] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__20__KET____DOT__b_q[0];
    d->a[1][21] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__21__KET____DOT__a_q[0];
    d->b[1][21] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__21__KET____DOT__b_q[0];
    d->a[1][22] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__22__KET____DOT__a_q[0];
    d->b[1][22] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__22__KET____DOT__b_q[0];
    d->a[1][23] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__23__KET____DOT__a_q[0];
    d->b[1][23] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__23__KET____DOT__b_q[0];
    d->a[1][24] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__24__KET____DOT__a_q[0];
    d->b[1][24] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__24__KET____DOT__b_q[0];
    d->a[1][25] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__25__KET____DOT__a_q[0];
    d->b[1][25] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__25__KET____DOT__b_q[0];
    d->a[1][26] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__26__KET____DOT__a_q[0];
    d->b[1][26] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__26__KET____DOT__b_q[0];
    d->a[1][27] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__27__KET____DOT__a_q[0];
    d->b[1][27] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__27__KET____DOT__b_q[0];
    d->a[1][28] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__28__KET____DOT__a_q[0];
    d->b[1][28] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__28__KET____DOT__b_q[0];
    d->a[1][29] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__29__KET____DOT__a_q[0];
    d->b[1][29] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__29__KET____DOT__b_q[0];
    d->a[1][30] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__30__KET____DOT__a_q[0];
    d->b[1][30] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__30__KET____DOT__b_q[0];
    d->a[1][31] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__31__KET____DOT__a_q[0];
    d->b[1][31] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__31__KET____DOT__b_q[0];
    d->a[2][0] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__0__KET____DOT__a_q[0];
    d->b[2][0] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__0__KET____DOT__b_q[0];
    d->a[2][1] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__1__KET____DOT__a_q[0];
    d->b[2][1] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__1__KET____DOT__b_q[0];
    d->a[2][2] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__2__KET____DOT__a_q[0];
    d->b[2][2] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__2__KET____DOT__b_q[0];
    d->a[2][3] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__3__KET____DOT__a_q[0];
    d->b[2][3] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__3__KET____DOT__b_q[0];
    d->a[2][4] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__4__KET____DOT__a_q[0];
    d->b[2][4] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__4__KET____DOT__b_q[0];
    d->a[2][5] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__5__KET____DOT__a_q[0];
    d->b[2][5] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__5__KET____DOT__b_q[0];
    d->a[2][6] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__6__KET____DOT__a_q[0];
    d->b[2][6] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__6__KET____DOT__b_q[0];
    d->a[2][7] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__7__KET____DOT__a_q[0];
    d->b[2][7] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__7__KET____DOT__b_q[0];
    d->a[2][8] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__8__KET____DOT__a_q[0];
    d->b[2][8] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__8__KET____DOT__b_q[0];
    d->a[2][9] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__9__KET____DOT__a_q[0];
    d->b[2][9] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__9__KET____DOT__b_q[0];
    d->a[2][10] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__10__KET____DOT__a_q[0];
    d->b[2][10] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__10__KET____DOT__b_q[0];
    d->a[2][11] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__11__KET____DOT__a_q[0];
    d->b[2][11] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__11__KET____DOT__b_q[0];
    d->a[2][12] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__12__KET____DOT__a_q[0];
    d->b[2][12] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__12__KET____DOT__b_q[0];
    d->a[2][13] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__13__KET____DOT__a_q[0];
    d->b[2][13] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__13__KET____DOT__b_q[0];
    d->a[2][14] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__14__KET____DOT__a_q[0];
    d->b[2][14] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__14__KET____DOT__b_q[0];
    d->a[2][15] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__15__KET____DOT__a_q[0];
    d->b[2][15] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__15__KET____DOT__b_q[0];
    d->a[2][16] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__16__KET____DOT__a_q[0];
    d->b[2][16] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__16__KET____DOT__b_q[0];
    d->a[2][17] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__17__KET____DOT__a_q[0];
    d->b[2][17] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__17__KET____DOT__b_q[0];
    d->a[2][18] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__18__KET____DOT__a_q[0];
    d->b[2][18] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__18__KET____DOT__b_q[0];
    d->a[2][19] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__19__KET____DOT__a_q[0];
    d->b[2][19] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__19__KET____DOT__b_q[0];
    d->a[2][20] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__20__KET____DOT__a_q[0];
    d->b[2][20] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__20__KET____DOT__b_q[0];
    d->a[2][21] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__21__KET____DOT__a_q[0];
    d->b[2][21] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__21__KET____DOT__b_q[0];
    d->a[2][22] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__22__KET____DOT__a_q[0];
    d->b[2][22] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__22__KET____DOT__b_q[0];
    d->a[2][23] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__23__KET____DOT__a_q[0];
    d->b[2][23] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__23__KET____DOT__b_q[0];
    d->a[2][24] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__24__KET____DOT__a_q[0];
    d->b[2][24] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__24__KET____DOT__b_q[0];
    d->a[2][25] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__25__KET____DOT__a_q[0];
    d->b[2][25] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__25__KET____DOT__b_q[0];
    d->a[2][26] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__26__KET____DOT__a_q[0];
    d->b[2][26] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__26__KET____DOT__b_q[0];
    d->a[2][27] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__27__KET____DOT__a_q[0];
    d->b[2][27] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__27__KET____DOT__b_q[0];
    d->a[2][28] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__28__KET____DOT__a_q[0];
    d->b[2][28] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__28__KET____DOT__b_q[0];
    d->a[2][29] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__29__KET____DOT__a_q[0];
    d->b[2][29] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__29__KET____DOT__b_q[0];
    d->a[2][30] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__30__KET____DOT__a_q[0];
    d->b[2][30] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__30__KET____DOT__b_q[0];
    d->a[2][31] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__31__KET____DOT__a_q[0];
    d->b[2][31] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__31__KET____DOT__b_q[0];
    d->a[3][0] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__0__KET____DOT__a_q[0];
    d->b[3][0] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__0__KET____DOT__b_q[0];
    d->a[3][1] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__1__KET____DOT__a_q[0];
    d->b[3][1] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__1__KET____DOT__b_q[0];
    d->a[3][2] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__2__KET____DOT__a_q[0];
    d->b[3][2] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__2__KET____DOT__b_q[0];
    d->a[3][3] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__3__KET____DOT__a_q[0];
    d->b[3][3] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__3__KET____DOT__b_q[0];
    d->a[3][4] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__4__KET____DOT__a_q[0];
    d->b[3][4] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__4__KET____DOT__b_q[0];
    d->a[3][5] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__5__KET____DOT__a_q[0];
    d->b[3][5] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__5__KET____DOT__b_q[0];
    d->a[3][6] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__6__KET____DOT__a_q[0];
    d->b[3][6] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__6__KET____DOT__b_q[0];
    d->a[3][7] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__7__KET____DOT__a_q[0];
    d->b[3][7] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__7__KET____DOT__b_q[0];
    d->a[3][8] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__8__KET____DOT__a_q[0];
    d->b[3][8] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__8__KET____DOT__b_q[0];
    d->a[3][9] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__9__KET____DOT__a_q[0];
    d->b[3][9] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__9__KET____DOT__b_q[0];
    d->a[3][10] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__10__KET____DOT__a_q[0];
    d->b[3][10] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__10__KET____DOT__b_q[0];
    d->a[3][11] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__11__KET____DOT__a_q[0];
    d->b[3][11] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__11__KET____DOT__b_q[0];
    d->a[3][12] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__12__KET____DOT__a_q[0];
    d->b[3][12] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__12__KET____DOT__b_q[0];
    d->a[3][13] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__13__KET____DOT__a_q[0];
    d->b[3][13] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__13__KET____DOT__b_q[0];
    d->a[3][14] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__14__KET____DOT__a_q[0];
    d->b[3][14] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__14__KET____DOT__b_q[0];
    d->a[3][15] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__15__KET____DOT__a_q[0];
    d->b[3][15] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__15__KET____DOT__b_q[0];
    d->a[3][16] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__16__KET____DOT__a_q[0];
    d->b[3][16] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__16__KET____DOT__b_q[0];
    d->a[3][17] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__17__KET____DOT__a_q[0];
    d->b[3][17] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__17__KET____DOT__b_q[0];
    d->a[3][18] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__18__KET____DOT__a_q[0];
    d->b[3][18] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__18__KET____DOT__b_q[0];
    d->a[3][19] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__19__KET____DOT__a_q[0];
    d->b[3][19] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__19__KET____DOT__b_q[0];
    d->a[3][20] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__20__KET____DOT__a_q[0];
    d->b[3][20] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__20__KET____DOT__b_q[0];
    d->a[3][21] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__21__KET____DOT__a_q[0];
    d->b[3][21] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__21__KET____DOT__b_q[0];
    d->a[3][22] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__22__KET____DOT__a_q[0];
    d->b[3][22] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__22__KET____DOT__b_q[0];
    d->a[3][23] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__23__KET____DOT__a_q[0];
    d->b[3][23] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__23__KET____DOT__b_q[0];
    d->a[3][24] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__24__KET____DOT__a_q[0];
    d->b[3][24] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__24__KET____DOT__b_q[0];
    d->a[3][25] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__25__KET____DOT__a_q[0];
    d->b[3][25] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__25__KET____DOT__b_q[0];
    d->a[3][26] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__26__KET____DOT__a_q[0];
    d->b[3][26] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__26__KET____DOT__b_q[0];
    d->a[3][27] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__27__KET____DOT__a_q[0];
    d->b[3][27] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__27__KET____DOT__b_q[0];
    d->a[3][28] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__28__KET____DOT__a_q[0];
    d->b[3][28] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__28__KET____DOT__b_q[0];
    d->a[3][29] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__29__KET____DOT__a_q[0];
    d->b[3][29] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__29__KET____DOT__b_q[0];
    d->a[3][30] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__30__KET____DOT__a_q[0];
    d->b[3][30] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__30__KET____DOT__b_q[0];
    d->a[3][31] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__31__KET____DOT__a_q[0];
    d->b[3][31] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__gen_lane__BRA__31__KET____DOT__b_q[0];
    d->valid[0] = &r->ebpf_dataplane__DOT__g_eng__BRA__0__KET____DOT__u_eng__DOT__u_fifo__DOT__valid_q;
    d->valid[1] = &r->ebpf_dataplane__DOT__g_eng__BRA__1__KET____DOT__u_eng__DOT__u_fifo__DOT__valid_q;
    d->valid[2] = &r->ebpf_dataplane__DOT__g_eng__BRA__2__KET____DOT__u_eng__DOT__u_fifo__DOT__valid_q;
    d->valid[3] = &r->ebpf_dataplane__DOT__g_eng__BRA__3__KET____DOT__u_eng__DOT__u_fifo__DOT__valid_q;
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

// FIFO_MD byte at ring address i of engine e (lane i % 32, row i / 32, A ^ B).
uint8_t nfbpf_dp_fifo_get(void* p, uint32_t e, uint32_t i) {
    Dp* d = static_cast<Dp*>(p);
    if (e >= DP_ENGINES) return 0;
    uint32_t row = (i & 2047) >> 5, lane = i & 31;
    return d->a[e][lane][row] ^ d->b[e][lane][row];
}

// FIFO_MD valid bits of engine e (bit i = ring word i).
uint64_t nfbpf_dp_valid_get(void* p, uint32_t e) {
    Dp* d = static_cast<Dp*>(p);
    if (e >= DP_ENGINES) return 0;
    return *d->valid[e];
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
