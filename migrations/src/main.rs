//! `cargo run -p migrations -- <up|down|status|fresh|…>`: the sea-orm migration CLI for
//! OmniPlug. Reads `DATABASE_URL` from the environment or `.env`; without one it uses the
//! development SQLite file under `data/`, like the server and worker do.

fn main() {
    let _ = dotenvy::dotenv();
    if std::env::var_os("DATABASE_URL").is_none() {
        let dir = std::env::var("OMNIPLUG_DATA_DIR").unwrap_or_else(|_| "data".into());
        if let Err(err) = std::fs::create_dir_all(&dir) {
            eprintln!("cannot create {dir}: {err}");
            std::process::exit(1);
        }
        let url = format!("sqlite://{dir}/omniplug.db?mode=rwc");
        // SAFETY: no other thread exists yet (the runtime is built below), so nothing can
        // read the environment while it changes. The CLI only takes its URL from there.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("DATABASE_URL", url);
        }
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            std::process::exit(1);
        }
    };
    runtime.block_on(sea_orm_migration::cli::run_cli(migrations::Migrator));
}
