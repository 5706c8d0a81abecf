//! `tpgate`: serve, sandbox, migrate, openapi, token, gen-key.
use std::path::PathBuf;

use admin_api::{JwtConfig, Role, jwt::PublicKeys};
use anyhow::Context;
use clap::{Parser, Subcommand};
use store::{Sealer, Store};
use tenant_auth::Clock;
#[cfg(feature = "sandbox")]
use tpgate::sandbox;
use tpgate::{Application, Config, telemetry};

/// See the dependency's comment in Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "tpgate",
    version,
    about = "WeChat Open Platform third-party platform gateway"
)]
struct Cli {
    /// TOML config file (also TPGATE_CONFIG). Environment TPGATE_* overrides it.
    #[arg(long, global = true, env = "TPGATE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (production).
    Serve,
    /// Run the gateway on SQLite with an in-process WeChat simulator, plus demo data.
    #[cfg(feature = "sandbox")]
    Sandbox(sandbox::SandboxArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Print the OpenAPI document (what `openapi/tpgate.json` must contain).
    Openapi,
    /// Mint an admin JWT (bootstrap: the first operator token).
    Token {
        /// platform_admin, platform_viewer or tenant_admin.
        #[arg(long, default_value = "platform_admin")]
        role: String,
        /// Who the token is for (the `sub` claim, recorded in logs).
        #[arg(long, default_value = "bootstrap")]
        subject: String,
        /// Required for tenant_admin.
        #[arg(long)]
        tenant_id: Option<String>,
        /// Lifetime in hours, 1 to 720 (30 days).
        #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(i64).range(1..=720))]
        ttl_hours: i64,
        /// Sign with this PEM private key (RSA: RS256, Ed25519: EdDSA)
        /// instead of the HS256 secret; tpgate must have its public key.
        #[arg(long)]
        private_key_file: Option<PathBuf>,
        /// The `kid` header, naming the key in a JWKS.
        #[arg(long, requires = "private_key_file")]
        kid: Option<String>,
    },
    /// Print a one-time link signing into the operator console (`/console`),
    /// valid for 10 minutes.
    ConsoleLogin {
        /// platform_admin, platform_viewer or tenant_admin.
        #[arg(long)]
        role: String,
        /// Who signs in (recorded in the audit log of their changes).
        #[arg(long)]
        subject: String,
        /// The tenant, for tenant_admin.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Print a fresh random key (for TPGATE_SEALING_KEY or the JWT secret).
    GenKey,
    /// Re-seal every stored secret with the current sealing key. Rotate by
    /// setting the new key as TPGATE_SEALING_KEY and the old one in
    /// TPGATE_SEALING_PREVIOUS_KEYS, deploying, running this, then dropping
    /// the old key. Safe while replicas run.
    RotateKeys {
        /// Change nothing: list the columns still holding values sealed
        /// with a key other than the current one, and exit non-zero if any.
        #[arg(long)]
        check: bool,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Openapi => {
            println!("{}", tpgate::spec_json());
            Ok(())
        }
        Command::ConsoleLogin {
            role,
            subject,
            tenant,
        } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let tenant_id = match (role, tenant) {
                (Role::TenantAdmin, None) => anyhow::bail!("--tenant is required for tenant_admin"),
                (Role::TenantAdmin, Some(t)) => Some(t),
                (_, Some(_)) => anyhow::bail!("--tenant is only for tenant_admin"),
                (_, None) => None,
            };
            anyhow::ensure!(!subject.trim().is_empty(), "--subject must not be empty");
            let config = Config::load(cli.config.as_deref())?;
            let store = store_for_command(cli.config.as_deref()).await?;
            if let Some(t) = &tenant_id {
                let found = store.tenant(t).await?;
                anyhow::ensure!(
                    found.as_ref().is_some_and(|t| t.is_active()),
                    "tenant {t} does not exist or is suspended"
                );
            }
            let identity = store::console_sessions::ConsoleIdentity {
                role: role.as_str().to_owned(),
                subject,
                tenant_id: tenant_id.map(Into::into),
                api_key_id: None,
                via: store::console_sessions::SignedInVia::Link,
            };
            let link = console::sign_in_link(&store, &config.public_base_url, &identity).await?;
            eprintln!("open within 10 minutes; it works once:");
            println!("{link}");
            Ok(())
        }
        Command::GenKey => {
            println!("{}", Sealer::generate_key());
            Ok(())
        }
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => {
            telemetry::init(tpgate::config::LogFormat::Text);
            sandbox::run(args).await
        }
        Command::Migrate => {
            let store = store_for_command(cli.config.as_deref()).await?;
            store.migrate().await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::RotateKeys { check: true } => {
            let store = store_for_command(cli.config.as_deref()).await?;
            let old = store.sealed_with_old_keys().await?;
            if old.total() == 0 {
                println!("every sealed value uses the current key");
                return Ok(());
            }
            for (column, count) in &old.columns {
                println!("{column}: {count} value(s) sealed with a non-current key");
            }
            anyhow::bail!(
                "{} value(s) still sealed with a non-current key; run `tpgate rotate-keys` before dropping an old key",
                old.total()
            )
        }
        Command::RotateKeys { check: false } => {
            let store = store_for_command(cli.config.as_deref()).await?;
            let report = store
                .reseal_all()
                .await
                .context("re-sealing (is every old key in TPGATE_SEALING_PREVIOUS_KEYS?)")?;
            println!(
                "re-sealed {} value(s); {} already used the current key; {} changed meanwhile (already current)",
                report.resealed, report.current, report.skipped
            );
            Ok(())
        }
        Command::Token {
            role,
            subject,
            tenant_id,
            ttl_hours,
            private_key_file,
            kid,
        } => {
            let config = Config::load(cli.config.as_deref())?;
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let ttl = chrono::Duration::hours(ttl_hours);
            let token = match private_key_file {
                Some(path) => {
                    let pem = std::fs::read(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    jwt_claims_only(&config)
                        .mint_with_pem(&pem, kid.as_deref(), &subject, role, tenant_id, ttl)
                        .with_context(|| format!("signing with {}", path.display()))?
                }
                None => {
                    let secret = config.admin.hs256_secret().context(
                        "admin.jwt_secret (TPGATE_ADMIN__JWT_SECRET) is not set; or sign with --private-key-file",
                    )?;
                    JwtConfig {
                        hs256_secret: Some(secret),
                        ..jwt_claims_only(&config)
                    }
                    .mint(&subject, role, tenant_id, ttl)?
                }
            };
            println!("{token}");
            Ok(())
        }
        Command::Serve => {
            let config = Config::load(cli.config.as_deref())?;
            telemetry::init(config.log_format);
            config.validate_for_serve()?;
            let app = Application::build(&config, None, Clock::system()).await?;
            tracing::info!(port = app.port(), "tpgate listening");
            app.run_until_stopped(shutdown_signal()).await?;
            tracing::info!("tpgate stopped");
            Ok(())
        }
    }
}

/// Issuer and audience for minting; keys are given to the mint call.
fn jwt_claims_only(config: &Config) -> JwtConfig {
    JwtConfig {
        issuer: config.admin.jwt_issuer.clone(),
        audience: config.admin.jwt_audience.clone(),
        hs256_secret: None,
        public_keys: PublicKeys::none(),
    }
}

/// Config, logging and a database connection (no Redis) for one-shot commands.
async fn store_for_command(config: Option<&std::path::Path>) -> anyhow::Result<Store> {
    let config = Config::load(config)?;
    telemetry::init(config.log_format);
    let sealer = config.sealer()?;
    Ok(Store::connect(&config.database_url, None, sealer).await?)
}

/// SIGTERM (Kubernetes) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; draining");
}
