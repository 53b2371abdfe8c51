/* flow_router.c with its maps in the legacy `maps` section. */
#define FLOW_ROUTER_LEGACY
#include "flow_router.c"
