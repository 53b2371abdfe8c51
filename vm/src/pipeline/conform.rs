//! The pipeline as a conformance executor (`--engine pipeline`).

use super::{Config, NoCycles};
use crate::conformance::Executor;
use crate::helpers::Helpers;
use crate::interp::conformance_memory;
use crate::program::Program;
use crate::trace::NoTrace;

/// Runs conformance programs on the pipeline model.
#[derive(Debug, Default)]
pub struct PipelineExecutor {
    pub config: Config,
}

impl Executor for PipelineExecutor {
    fn name(&self) -> &'static str {
        "pipeline"
    }

    fn execute(&mut self, prog: &Program, mem: &[u8]) -> Result<u64, String> {
        let (mut m, args) = conformance_memory(mem);
        let mut h = Helpers::conformance();
        super::run(
            prog,
            &mut m,
            &mut h,
            args,
            &self.config,
            &mut NoTrace,
            &mut NoCycles,
        )
        .map(|o| o.r0)
        .map_err(|f| f.to_string())
    }
}
