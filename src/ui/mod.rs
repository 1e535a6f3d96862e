//! The dashboard.

use crate::cli::{CmdResult, Ctx, DashArgs};

pub async fn run(_ctx: &Ctx, _args: DashArgs) -> CmdResult {
    Err(crate::cli::fail(crate::exit::ERROR, color_eyre::eyre::eyre!("the dashboard is not built yet")))
}
