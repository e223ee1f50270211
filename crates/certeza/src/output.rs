//! The command line's standard output. A reader that stops early (`certeza …
//! | head`) closes the pipe; `println!` would then panic, so every line goes
//! through [`line`], which ends the process quietly instead, with the status
//! a shell gives a process stopped by SIGPIPE.

use std::io::Write as _;

/// The exit status when standard output was closed by its reader (128 + SIGPIPE).
pub(crate) const CLOSED_OUTPUT_STATUS: i32 = 141;

/// Writes one line to standard output.
pub(crate) fn line(arguments: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout.write_fmt(format_args!("{arguments}\n")) {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(CLOSED_OUTPUT_STATUS);
        }
        eprintln!("error: cannot write to standard output: {error}");
        std::process::exit(1);
    }
}

/// `println!` that survives a closed standard output (see [`line`]).
macro_rules! out {
    () => {
        $crate::output::line(format_args!(""))
    };
    ($($argument:tt)*) => {
        $crate::output::line(format_args!($($argument)*))
    };
}
pub(crate) use out;
