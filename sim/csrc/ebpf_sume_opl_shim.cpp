// C entry points for the Verilated ebpf_sume_opl, the data plane in the
// NetFPGA SUME output-port-lookup slot (see sim/src/sume.rs).
//
// Inputs and outputs cross as two plain structs of 64-bit fields (mirrored
// by #[repr(C)] structs in Rust). The co-simulation drives the register
// clock and the data-path clock with one clock (S_AXI_ACLK = axis_aclk):
// eval() settles the combinational logic for the current inputs, tick() is
// one rising and falling edge of both.
#include "Vebpf_sume_opl.h"
#include "verilated.h"
#include <cstdint>

struct OplIn {
    uint64_t tdata[4], tkeep, tuser[2], tvalid, tlast;
    uint64_t m_tready;
    uint64_t awaddr, awvalid, wdata, wstrb, wvalid, bready, araddr, arvalid, rready;
};

struct OplOut {
    uint64_t tready;
    uint64_t m_tdata[4], m_tkeep, m_tuser[2], m_tvalid, m_tlast;
    uint64_t awready, wready, bresp, bvalid, arready, rdata, rresp, rvalid;
};

struct Opl {
    VerilatedContext ctx;
    Vebpf_sume_opl* m;
};

static void put64(uint32_t* w, int k, uint64_t v) {
    w[2 * k] = (uint32_t)v;
    w[2 * k + 1] = (uint32_t)(v >> 32);
}

static uint64_t get64(const uint32_t* w, int k) {
    return (uint64_t)w[2 * k] | ((uint64_t)w[2 * k + 1] << 32);
}

static void put(Vebpf_sume_opl* m, const OplIn* i) {
    for (int k = 0; k < 4; k++) put64(m->s_axis_tdata.data(), k, i->tdata[k]);
    m->s_axis_tkeep = (uint32_t)i->tkeep;
    for (int k = 0; k < 2; k++) put64(m->s_axis_tuser.data(), k, i->tuser[k]);
    m->s_axis_tvalid = i->tvalid;
    m->s_axis_tlast = i->tlast;
    m->m_axis_tready = i->m_tready;
    m->S_AXI_AWADDR = i->awaddr;
    m->S_AXI_AWVALID = i->awvalid;
    m->S_AXI_WDATA = i->wdata;
    m->S_AXI_WSTRB = i->wstrb;
    m->S_AXI_WVALID = i->wvalid;
    m->S_AXI_BREADY = i->bready;
    m->S_AXI_ARADDR = i->araddr;
    m->S_AXI_ARVALID = i->arvalid;
    m->S_AXI_RREADY = i->rready;
}

static void get(Vebpf_sume_opl* m, OplOut* o) {
    o->tready = m->s_axis_tready;
    for (int k = 0; k < 4; k++) o->m_tdata[k] = get64(m->m_axis_tdata.data(), k);
    o->m_tkeep = m->m_axis_tkeep;
    for (int k = 0; k < 2; k++) o->m_tuser[k] = get64(m->m_axis_tuser.data(), k);
    o->m_tvalid = m->m_axis_tvalid;
    o->m_tlast = m->m_axis_tlast;
    o->awready = m->S_AXI_AWREADY;
    o->wready = m->S_AXI_WREADY;
    o->bresp = m->S_AXI_BRESP;
    o->bvalid = m->S_AXI_BVALID;
    o->arready = m->S_AXI_ARREADY;
    o->rdata = m->S_AXI_RDATA;
    o->rresp = m->S_AXI_RRESP;
    o->rvalid = m->S_AXI_RVALID;
}

static void edge(Vebpf_sume_opl* m, int v) {
    m->axis_aclk = v;
    m->S_AXI_ACLK = v;
    m->eval();
}

extern "C" {

void* nfbpf_opl_new() {
    Opl* d = new Opl;
    d->m = new Vebpf_sume_opl(&d->ctx);
    return d;
}

void nfbpf_opl_free(void* p) {
    Opl* d = static_cast<Opl*>(p);
    delete d->m;
    delete d;
}

// Both resets low over one edge, then high.
void nfbpf_opl_reset(void* p, const OplIn* i) {
    Vebpf_sume_opl* m = static_cast<Opl*>(p)->m;
    put(m, i);
    m->axis_resetn = 0;
    m->S_AXI_ARESETN = 0;
    edge(m, 0);
    edge(m, 1);
    edge(m, 0);
    m->axis_resetn = 1;
    m->S_AXI_ARESETN = 1;
    m->eval();
}

void nfbpf_opl_eval(void* p, const OplIn* i, OplOut* o) {
    Vebpf_sume_opl* m = static_cast<Opl*>(p)->m;
    put(m, i);
    m->eval();
    get(m, o);
}

void nfbpf_opl_tick(void* p) {
    Vebpf_sume_opl* m = static_cast<Opl*>(p)->m;
    edge(m, 1);
    edge(m, 0);
}

}
