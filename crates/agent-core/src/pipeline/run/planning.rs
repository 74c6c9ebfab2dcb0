//! The Plan step of [`Pipeline`]: Hybrid Routing, the Architect or the local model, and the
//! pre-flight review of plan.md; and the roles in play, for the report.

use super::*;

impl Pipeline<'_> {
    /// The Plan step: the Architect, or the local model when it is unavailable and
    /// `fully-local` allows.
    pub(super) fn plan(
        &mut self,
        request: &str,
        research: &Research,
        report: &mut RunReport,
    ) -> Result<PlanDocument, PipelineError> {
        let cancel = self.options.cancel.clone();
        let original = request;
        let decision = self.route(request, research, report)?;
        if let Some(decision) = &decision {
            let text = decision.to_string();
            self.emit(Event::Notice(&text));
        }
        let routed_local = decision.as_ref().is_some_and(|d| d.route == Route::Local);
        report.route = decision;
        if routed_local {
            return self.plan_locally(original, research, report);
        }
        let reason = match self.planner.as_deref_mut() {
            Some(planner) => {
                // `history-overflow: summarize`: the Editor writes the summary (the Architect's
                // tokens are dearer, and the planner must not see its own earlier reasoning).
                let mut summarizer = EditorSummarizer::new(&mut *self.editor);
                let request = &with_conversation(
                    original,
                    &self.options.conversation,
                    &PlannerTokens(&*planner),
                    Some(&mut summarizer),
                    self.config,
                    &mut *self.observer,
                    report,
                )?;
                let input_text = format!("{request}\n{}", research.map);
                let count = PromptCount {
                    role: planner.name().to_string(),
                    purpose: "plan (request and repository map)".into(),
                    tokens: planner.count_tokens(&input_text) + MESSAGE_OVERHEAD_TOKENS,
                    limit: None,
                };
                let detail = format!("{} is planning", planner.name());
                let observer = &mut *self.observer;
                observer.event(&Event::Phase {
                    phase: Phase::Plan,
                    detail: &detail,
                });
                observer.event(&Event::Prompt(&count));
                report.prompts.push(count);
                let planned = planner.plan(request, research, &cancel, &mut |t| {
                    observer.event(&Event::Text {
                        speaker: Speaker::Architect,
                        text: t,
                    })
                });
                if let Some(used) = planner.last_plan_usage() {
                    report.add_tokens("architect", used);
                }
                match planned {
                    Ok(plan) => {
                        report.planner = Some(planner.name().to_string());
                        return Ok(plan);
                    }
                    Err(RoleError::Unavailable { role, reason }) => format!("{role}: {reason}"),
                    Err(e) => return Err(e.into()),
                }
            }
            None => "no architect is configured".to_string(),
        };
        if !self.config.fully_local {
            return Err(PipelineError::NoPlanner { reason });
        }
        let notice = format!("{reason}; the local model plans instead (fully-local mode)");
        self.emit(Event::Notice(&notice));
        report.warnings.push(notice);
        self.plan_locally(original, research, report)
    }

    /// Hybrid Routing: where this request is planned, or `None` when there is nothing to decide
    /// (no Architect and not fully local: the Plan step then says why it cannot plan).
    fn route(
        &mut self,
        request: &str,
        research: &Research,
        report: &mut RunReport,
    ) -> Result<Option<RouteDecision>, PipelineError> {
        if let RouteChoice::Force(route) = self.options.route {
            return Ok(Some(RouteDecision {
                route,
                by: Decider::Override,
                reason: format!("--route {route}"),
            }));
        }
        if self.planner.is_none() {
            return Ok(self.config.fully_local.then(|| RouteDecision {
                route: Route::Local,
                by: Decider::NoArchitect,
                reason: "no architect is configured".into(),
            }));
        }
        match self.router.as_deref_mut() {
            Some(router) => {
                self.observer.event(&Event::Phase {
                    phase: Phase::Plan,
                    detail: "the router is routing the request",
                });
                let mut metered = Metered::new(router);
                let decision = ask_router(&mut metered, request, research, &self.options.cancel);
                report.add_tokens("researcher.router", metered.used);
                Ok(Some(decision?))
            }
            None => Ok(Some(heuristic(request, research))),
        }
    }

    /// The roles this pipeline was given, with their configured models, for the report.
    pub(super) fn models_in_play(&self) -> Vec<RoleModel> {
        let role = |name: &str, config: Option<&crate::config::RoleConfig>| {
            config.map(|c| RoleModel {
                role: name.to_string(),
                provider: c.provider.name().to_string(),
                model: c.model.clone(),
            })
        };
        [
            role("editor", Some(&self.config.editor)),
            role(
                "architect",
                self.config
                    .architect
                    .as_ref()
                    .filter(|_| self.planner.is_some()),
            ),
            role(
                "researcher.router",
                self.config
                    .router
                    .as_ref()
                    .filter(|_| self.router.is_some()),
            ),
            role(
                "verifier",
                self.config
                    .verifier
                    .as_ref()
                    .filter(|_| self.verifier.is_some()),
            ),
            role(
                "preflight",
                self.config
                    .preflight
                    .as_ref()
                    .filter(|_| self.preflight.is_some()),
            ),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Pre-flight verification: the `preflight` model reviews the plan before the Editor
    /// starts; without one the plan goes on as it is.
    pub(super) fn preflight(
        &mut self,
        request: &str,
        plan: PlanDocument,
        research: &Research,
        report: &mut RunReport,
    ) -> Result<PlanDocument, PipelineError> {
        let Some(reviewer) = self.preflight.as_deref_mut() else {
            return Ok(plan);
        };
        self.observer.event(&Event::Phase {
            phase: Phase::Plan,
            detail: "the pre-flight reviewer is checking plan.md",
        });
        let mut metered = Metered::new(reviewer);
        let reviewed = review_plan(
            &mut metered,
            request,
            plan,
            self.repo.root(),
            &research.refs,
            &self.options.cancel,
        );
        report.add_tokens("preflight", metered.used);
        let (plan, outcome) = reviewed?;
        let text = format!("pre-flight: {}", outcome.detail);
        self.emit(Event::Notice(&text));
        if outcome.verdict == PreflightVerdict::CorrectionRefused {
            report.warnings.push(text);
        }
        report.preflight = Some(outcome);
        Ok(plan)
    }

    /// The local model plans (a `local` route, or no Architect in fully-local mode).
    fn plan_locally(
        &mut self,
        original: &str,
        research: &Research,
        report: &mut RunReport,
    ) -> Result<PlanDocument, PipelineError> {
        let cancel = self.options.cancel.clone();
        self.emit(Event::Phase {
            phase: Phase::Plan,
            detail: "the local model is planning",
        });
        let request = &with_conversation(
            original,
            &self.options.conversation,
            &EditorTokens(&*self.editor),
            None,
            self.config,
            &mut *self.observer,
            report,
        )?;
        let observer = &mut *self.observer;
        let mut metered = Metered::new(&mut *self.editor);
        let (plan, last_prompt_tokens) = {
            let mut local = LocalPlanner::new(&mut metered, self.options.local_plan_max_tokens);
            let plan = local.plan(request, research, &cancel, &mut |t| {
                observer.event(&Event::Text {
                    speaker: Speaker::Architect,
                    text: t,
                })
            });
            (plan, local.last_prompt_tokens())
        };
        report.add_tokens("local-planner", metered.used);
        let plan = plan?;
        report.prompts.push(PromptCount {
            role: "local-planner".into(),
            purpose: "plan (request and repository map)".into(),
            tokens: last_prompt_tokens,
            limit: self
                .editor
                .safe_context_tokens()
                .map(|s| s.saturating_sub(self.options.local_plan_max_tokens)),
        });
        report.planner = Some("local".into());
        Ok(plan)
    }
}
