//! The terminal: raw mode and the alternate screen (restored by a guard, by the panic hook and
//! by the quit watchdog), and copying to the clipboard with OSC 52.

use color_eyre::eyre::{Result, WrapErr};
use std::io::Write;
use std::time::Duration;
use tokio::sync::mpsc;

/// Puts the terminal back as it was: cooked mode, main screen, no mouse capture or bracketed
/// paste, cursor shown.
pub fn restore() {
    let _ = crossterm::terminal::disable_raw_mode();
    let _ = crossterm::execute!(
        std::io::stdout(),
        crossterm::event::DisableBracketedPaste,
        crossterm::event::DisableMouseCapture,
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Owns the terminal's raw mode and alternate screen; restores them when dropped (normal exit,
/// `?` error paths). The panic hook restores them only while a guard is alive.
pub struct TerminalGuard(());

static UI_ACTIVE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The latest panic of a background thread while the UI is up, for the screen to show.
static WORKER_PANIC: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Takes the message of a background panic since the last call, if any.
pub fn take_worker_panic() -> Option<String> {
    WORKER_PANIC.lock().ok().and_then(|mut p| p.take())
}

impl TerminalGuard {
    /// Enters raw mode and the alternate screen, with bracketed paste, and captures the mouse
    /// when `mouse` (clicks and the wheel reach the dashboard; the terminal's own selection
    /// then needs Shift in most terminals — hence `--no-mouse`).
    pub fn enter(mouse: bool) -> Result<Self> {
        install_panic_hook();
        crossterm::terminal::enable_raw_mode().wrap_err("switching the terminal to raw mode")?;
        UI_ACTIVE.store(true, std::sync::atomic::Ordering::SeqCst);
        let guard = Self(());
        crossterm::execute!(
            std::io::stdout(),
            crossterm::terminal::EnterAlternateScreen,
            crossterm::event::EnableBracketedPaste
        )
        .wrap_err("entering the alternate screen")?;
        if mouse {
            crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture)
                .wrap_err("capturing the mouse")?;
        }
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        UI_ACTIVE.store(false, std::sync::atomic::Ordering::SeqCst);
        restore();
    }
}

/// A panic on the UI thread (the one that entered the terminal) takes the UI down: restore the
/// terminal before the report is printed. A panic in a worker task is only logged: tokio
/// catches it, the runtime reports the failed task, and the dashboard carries on.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    let ui_thread = std::thread::current().id();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            tracing::error!("panic: {info}");
            let active = UI_ACTIVE.load(std::sync::atomic::Ordering::SeqCst);
            if std::thread::current().id() == ui_thread && active {
                restore();
                prev(info);
            } else if active {
                // A worker: the dashboard carries on and says so.
                let what = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                if let Ok(mut p) = WORKER_PANIC.lock() {
                    *p = Some(what);
                }
            } else {
                prev(info);
            }
        }));
    });
}

/// Copies `text` to the clipboard of the terminal (and of the machine it runs on, through ssh
/// and tmux) with the OSC 52 escape.
pub fn copy(text: &str) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    let mut out = std::io::stdout();
    let _ = write!(out, "\x1b]52;c;{b64}\x07");
    let _ = out.flush();
}

/// Asks the event loop to quit (by sending `quit`) on SIGTERM, SIGINT, SIGHUP, or when the
/// terminal goes away (stdout stops being a terminal once a tty is hung up). If the loop has not
/// stopped two seconds later, the process exits from here: on a vanished tty crossterm's event
/// reader spins without returning (crossterm-rs/crossterm#793), so the loop itself may never see
/// the request.
pub fn spawn_quit_watchdog<T: Send + 'static>(
    actions: mpsc::Sender<T>,
    quit: T,
) -> std::io::Result<()> {
    use std::io::IsTerminal;
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        let mut check = tokio::time::interval(Duration::from_secs(1));
        let (reason, code) = loop {
            tokio::select! {
                _ = term.recv() => break ("SIGTERM", 143),
                _ = int.recv() => break ("SIGINT", 130),
                _ = hup.recv() => break ("SIGHUP", 129),
                _ = check.tick() => if !std::io::stdout().is_terminal() {
                    break ("the terminal went away", 129);
                },
            }
        };
        tracing::info!("{reason}: quitting");
        let _ = actions.send(quit).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        tracing::warn!("the event loop did not stop after {reason}; exiting");
        restore();
        std::process::exit(code);
    });
    Ok(())
}
