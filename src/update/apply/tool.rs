//! Running the system's own tools (`dpkg`, `dpkg-deb`, `dpkg-query`, `systemctl`) without a
//! terminal and without prompts.

use std::process::{Command, ExitStatus, Stdio};

/// Why a tool could not be run or did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: ExitStatus,
        stderr: String,
    },
}

/// Runs `program` with `args` and returns its trimmed standard output.
pub(super) fn run_tool(program: &str, args: &[&str]) -> Result<String, ToolError> {
    run_tool_with(program, args, &[])
}

/// [`run_tool`] with extra environment variables.
pub(super) fn run_tool_with(
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<String, ToolError> {
    let out = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| ToolError::Spawn {
            program: program.to_string(),
            source,
        })?;
    if !out.status.success() {
        return Err(ToolError::Failed {
            command: format!("{program} {}", args.join(" ")),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
