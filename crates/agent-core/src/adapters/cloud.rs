//! Remote roles over the architect crate's HTTP clients: the cloud Architect as a [`Planner`],
//! and an OpenAI-compatible server (llama.cpp, vLLM, ollama) as the [`Editor`].

use std::time::Duration;

use aidx_architect::plan::{Architect, ArchitectError, ArchitectOptions, PlanFormat, PlanInput};
use aidx_architect::{
    self as architect, CancellationToken, ChatClient, ChatError, HttpChatClient, ProviderConfig,
};
use aidx_repo_map::{Cl100kCounter, TokenCounter};

use crate::config::{Config, Provider, RoleConfig};
use crate::pipeline::{
    CancelToken, ChatMessage, ChatRole, Completion, Editor, FinishReason, GenerateOptions,
    PlanDocument, Planner, Research, RoleError, TokenUsage,
};

/// Builds the client for a remote role; the API key is read from the variable the role names.
pub fn client_for(role_name: &str, role: &RoleConfig) -> Result<HttpChatClient, RoleError> {
    let unavailable = |reason: String| RoleError::Unavailable {
        role: role_name.into(),
        reason,
    };
    let provider = match role.provider {
        Provider::OpenAiCompatible => architect::Provider::OpenAiCompatible,
        Provider::Anthropic => architect::Provider::Anthropic,
        Provider::Gemini => architect::Provider::Gemini,
        Provider::Embedded => {
            return Err(unavailable(format!(
                "{role_name}.provider is `embedded`, which is not a remote provider"
            )));
        }
    };
    let model = role
        .model
        .clone()
        .ok_or_else(|| unavailable(format!("set {role_name}.model in .aidx.yml")))?;
    let mut config = ProviderConfig::new(provider, model);
    if let Some(url) = &role.base_url {
        config = config.with_base_url(url.clone());
    }
    if let Some(var) = &role.api_key_env {
        config = config.with_api_key_env(var.clone());
    }
    if let Some(secs) = role.timeout_secs {
        config.timeouts.read = Duration::from_secs(secs);
    }
    HttpChatClient::new(config).map_err(|e| unavailable(e.to_string()))
}

/// The role's `plan-format` for its provider: `auto` (or unset) is JSON Schema where the protocol has structured
/// output (openai-compatible, gemini) and markdown for anthropic; `json-schema` on anthropic is refused.
pub fn plan_format_for(role_name: &str, role: &RoleConfig) -> Result<PlanFormat, RoleError> {
    let provider = match role.provider {
        Provider::OpenAiCompatible => architect::Provider::OpenAiCompatible,
        Provider::Anthropic => architect::Provider::Anthropic,
        Provider::Gemini => architect::Provider::Gemini,
        Provider::Embedded => return Ok(PlanFormat::Markdown),
    };
    match role.plan_format.as_deref() {
        None | Some("auto") => Ok(PlanFormat::auto(provider)),
        Some("markdown") => Ok(PlanFormat::Markdown),
        Some("json-schema") if PlanFormat::JsonSchema.supported_by(provider) => {
            Ok(PlanFormat::JsonSchema)
        }
        Some("json-schema") => Err(RoleError::Unavailable {
            role: role_name.into(),
            reason: format!(
                "{role_name}.plan-format json-schema needs structured output, which the {} protocol does not \
                 have; use markdown or auto",
                provider.name()
            ),
        }),
        Some(other) => Err(RoleError::Unavailable {
            role: role_name.into(),
            reason: format!(
                "{role_name}.plan-format `{other}` is not one of auto, markdown, json-schema"
            ),
        }),
    }
}

fn role_error(role: &str, error: ChatError) -> RoleError {
    let reason = error.to_string();
    match error {
        ChatError::Connect { .. }
        | ChatError::Timeout { .. }
        | ChatError::RetriesExhausted { .. } => RoleError::Unavailable {
            role: role.into(),
            reason,
        },
        _ => RoleError::Failed {
            role: role.into(),
            reason,
        },
    }
}

/// Runs `run` on `runtime` while forwarding streamed text to `on_text` on this thread. `run`
/// gets a fresh tokio token for this call alone, cancelled when `cancel` fires (polled every
/// 20 ms), so one cancelled request never cancels the next.
fn stream_on<T>(
    runtime: &tokio::runtime::Runtime,
    cancel: &CancelToken,
    on_text: &mut dyn FnMut(&str),
    run: impl AsyncFnOnce(&mut (dyn FnMut(&str) + Send), &CancellationToken) -> T,
) -> T {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut sink = move |delta: &str| {
        let _ = tx.send(delta.to_string());
    };
    let token = CancellationToken::new();
    runtime.block_on(async {
        let work = run(&mut sink, &token);
        tokio::pin!(work);
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(20));
        loop {
            tokio::select! {
                _ = tick.tick(), if !token.is_cancelled() => {
                    if cancel.is_cancelled() {
                        token.cancel();
                    }
                }
                result = &mut work => {
                    while let Ok(delta) = rx.try_recv() {
                        on_text(&delta);
                    }
                    return result;
                }
                Some(delta) = rx.recv() => on_text(&delta),
            }
        }
    })
}

/// The cloud Architect: plans with a remote model and validates the plan (one corrective retry).
pub struct CloudPlanner {
    runtime: tokio::runtime::Runtime,
    client: HttpChatClient,
    repo_root: std::path::PathBuf,
    options: ArchitectOptions,
    last_usage: Option<(u64, u64)>,
    last_attempts: Option<u32>,
}

impl CloudPlanner {
    /// Prompt and completion tokens of the last plan, over all its requests.
    pub fn last_usage(&self) -> Option<(u64, u64)> {
        self.last_usage
    }

    /// Requests the last plan took (1, or 2 after a correction).
    pub fn last_attempts(&self) -> Option<u32> {
        self.last_attempts
    }

    /// How the plan is asked for (`plan-format`, resolved for the provider).
    pub fn format(&self) -> PlanFormat {
        self.options.format
    }

    /// The architect role from the configuration.
    pub fn new(
        role: &RoleConfig,
        config: &Config,
        repo_root: &std::path::Path,
    ) -> Result<Self, RoleError> {
        let client = client_for("architect", role)?;
        let format = plan_format_for("architect", role)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| RoleError::Unavailable {
                role: "architect".into(),
                reason: format!("cannot start the runtime: {e}"),
            })?;
        let options = ArchitectOptions {
            plan_path: config.plan_file.clone(),
            max_tokens: role.max_tokens.map(|n| n.min(u32::MAX as u64) as u32),
            temperature: role.temperature.map(|t| t as f32),
            stream: true,
            format,
            // `auto` chose the schema for this provider; a server that ignores it still gets read.
            markdown_fallback: format == PlanFormat::JsonSchema
                && matches!(role.plan_format.as_deref(), None | Some("auto")),
        };
        Ok(CloudPlanner {
            runtime,
            client,
            repo_root: repo_root.to_path_buf(),
            options,
            last_usage: None,
            last_attempts: None,
        })
    }
}

impl Planner for CloudPlanner {
    fn name(&self) -> &str {
        "architect"
    }

    fn plan(
        &mut self,
        request: &str,
        research: &Research,
        cancel: &CancelToken,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<PlanDocument, RoleError> {
        // A failed plan reports no usage, not the previous plan's.
        self.last_usage = None;
        self.last_attempts = None;
        let architect = Architect::new(&self.client, self.repo_root.clone(), self.options.clone());
        let files: Vec<String> = research
            .files
            .iter()
            .map(|path| path.to_string_lossy().replace('\\', "/"))
            .collect();
        let input = PlanInput {
            request,
            repo_map: &research.map,
            reference_ids: &research.refs,
            files: &files,
        };
        let outcome = stream_on(&self.runtime, cancel, on_text, async |sink, token| {
            architect.plan(input, sink, token).await
        });
        match outcome {
            Ok(outcome) => {
                self.last_usage =
                    Some((outcome.usage.prompt_tokens, outcome.usage.completion_tokens));
                self.last_attempts = Some(outcome.attempts);
                if outcome.schema_ignored {
                    // Remembered for the rest of the run: this server answers in markdown anyway.
                    self.options.format = PlanFormat::Markdown;
                    self.options.markdown_fallback = false;
                }
                Ok(PlanDocument::from_markdown(&outcome.plan.to_markdown()))
            }
            Err(ArchitectError::Chat(e)) => Err(role_error("architect", e)),
            Err(other) => Err(RoleError::Failed {
                role: "architect".into(),
                reason: other.to_string(),
            }),
        }
    }

    fn last_plan_usage(&self) -> Option<TokenUsage> {
        let (prompt, completion) = self.last_usage?;
        Some(TokenUsage {
            calls: self.last_attempts.unwrap_or(1) as usize,
            prompt_tokens: prompt as usize,
            completion_tokens: completion as usize,
        })
    }

    fn count_tokens(&self, text: &str) -> usize {
        Cl100kCounter.count(text)
    }
}

/// An Editor served by an OpenAI-compatible engine (llama.cpp server, vLLM, ollama); also the
/// router, verifier and pre-flight roles when they point at a server.
pub struct RemoteEditor {
    runtime: tokio::runtime::Runtime,
    client: HttpChatClient,
    context_tokens: Option<usize>,
    /// The role it serves, for errors (`editor`, `verifier`, …).
    name: String,
    base_url: Option<String>,
}

impl RemoteEditor {
    /// The editor role from the configuration (`editor.provider: openai-compatible`).
    pub fn new(role: &RoleConfig) -> Result<Self, RoleError> {
        Self::for_role("editor", role)
    }

    /// The role `name` (as `.aidx.yml` names it) served by an OpenAI-compatible server.
    pub fn for_role(name: &str, role: &RoleConfig) -> Result<Self, RoleError> {
        let client = client_for(name, role)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| RoleError::Unavailable {
                role: name.into(),
                reason: format!("cannot start the runtime: {e}"),
            })?;
        Ok(RemoteEditor {
            runtime,
            client,
            context_tokens: role.context.map(|c| c as usize),
            name: name.to_string(),
            base_url: role.base_url.clone(),
        })
    }

    /// Checks that the server accepts connections (a TCP connect to `base-url`'s host and
    /// port, 3 s at most), so a role whose server is down is an error before the run starts
    /// rather than halfway through it.
    pub fn probe(&self) -> Result<(), RoleError> {
        let Some(url) = &self.base_url else {
            return Ok(());
        };
        let unreachable = |why: String| RoleError::Unavailable {
            role: self.name.clone(),
            reason: format!(
                "cannot reach {url} ({why}): start the server or fix {}.base-url",
                self.name
            ),
        };
        let address = host_port(url).ok_or_else(|| unreachable("not an http(s) URL".into()))?;
        let addrs: Vec<std::net::SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(&address)
            .map_err(|e| unreachable(e.to_string()))?
            .collect();
        let mut last = String::from("no address");
        for addr in addrs {
            match std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(3)) {
                Ok(_) => return Ok(()),
                Err(e) => last = e.to_string(),
            }
        }
        Err(unreachable(last))
    }
}

/// `host:port` of an http(s) URL (the scheme's port when none is written).
fn host_port(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let default = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    if authority.is_empty() {
        return None;
    }
    let has_port = match authority.rfind(':') {
        // An IPv6 literal's colons are inside brackets.
        Some(colon) => !authority[colon..].contains(']'),
        None => false,
    };
    Some(if has_port {
        authority.to_string()
    } else {
        format!("{authority}:{default}")
    })
}

#[cfg(test)]
mod host_port_tests {
    use super::host_port;

    #[test]
    fn urls_give_host_and_port() {
        assert_eq!(
            host_port("http://127.0.0.1:8080/v1").as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(
            host_port("https://api.example.com/v1").as_deref(),
            Some("api.example.com:443")
        );
        assert_eq!(host_port("http://[::1]/v1").as_deref(), Some("[::1]:80"));
        assert_eq!(host_port("http://u:p@h:9/x").as_deref(), Some("h:9"));
        assert_eq!(host_port("ftp://h/x"), None);
        assert_eq!(host_port("localhost:8080"), None);
    }
}

impl Editor for RemoteEditor {
    fn complete(
        &mut self,
        messages: &[ChatMessage],
        options: &GenerateOptions,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Completion, RoleError> {
        let messages = messages
            .iter()
            .map(|m| match m.role {
                ChatRole::System => architect::ChatMessage::system(&m.content),
                ChatRole::User => architect::ChatMessage::user(&m.content),
                ChatRole::Assistant => architect::ChatMessage::assistant(&m.content),
            })
            .collect();
        let mut request = self.client.request(messages);
        request.max_tokens = Some(options.max_tokens.min(u32::MAX as usize) as u32);
        request.temperature = Some(options.temperature as f32);
        request.stop = options.stop.clone();
        let client = &self.client;
        let response = stream_on(
            &self.runtime,
            &options.cancel,
            on_text,
            async |sink, token| client.chat(&request, sink, token).await,
        )
        .map_err(|e| role_error(&self.name, e))?;
        Ok(Completion {
            text: response.text,
            prompt_tokens: response.usage.prompt_tokens as usize,
            completion_tokens: response.usage.completion_tokens as usize,
            finish: match response.finish_reason {
                architect::FinishReason::Stop => FinishReason::Stop,
                architect::FinishReason::Length => FinishReason::Length,
                _ => FinishReason::Other,
            },
        })
    }

    fn count_tokens(&self, text: &str) -> usize {
        // The server's tokenizer is not known here; cl100k is the gate's common measure.
        Cl100kCounter.count(text)
    }

    fn safe_context_tokens(&self) -> Option<usize> {
        self.context_tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(provider: Provider, plan_format: Option<&str>) -> RoleConfig {
        RoleConfig {
            provider,
            plan_format: plan_format.map(str::to_string),
            ..RoleConfig::default_editor()
        }
    }

    #[test]
    fn plan_format_auto_follows_the_provider_and_json_schema_needs_structured_output() {
        let format = |provider, setting| plan_format_for("architect", &role(provider, setting));
        assert_eq!(
            format(Provider::OpenAiCompatible, Some("auto")).unwrap(),
            PlanFormat::JsonSchema
        );
        assert_eq!(
            format(Provider::Gemini, None).unwrap(),
            PlanFormat::JsonSchema
        );
        assert_eq!(
            format(Provider::Anthropic, Some("auto")).unwrap(),
            PlanFormat::Markdown
        );
        assert_eq!(
            format(Provider::OpenAiCompatible, Some("markdown")).unwrap(),
            PlanFormat::Markdown
        );
        let refused = format(Provider::Anthropic, Some("json-schema"))
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("plan-format json-schema") && refused.contains("anthropic"),
            "{refused}"
        );
    }
}
