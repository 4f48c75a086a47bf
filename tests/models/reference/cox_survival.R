# Reference values for tests/models/test_cox.py: Cox proportional hazards on counting-process
# rows (start, stop], with Efron and Breslow ties, naive and cluster-robust variances, from
# survival::coxph.
#   Rscript tests/models/reference/cox_survival.R   (run from the repository root; writes
#   tests/models/reference/cox_survival.json and tests/models/reference/data/cox_sessions.csv)
# Needs Debian's r-base-core r-cran-survival r-cran-jsonlite (survival 3.5.3 here).
suppressPackageStartupMessages({
  library(survival); library(jsonlite)
})
out <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
            jsonlite = as.character(packageVersion("jsonlite")))
# Converge to the maximum of the partial likelihood, not to coxph's default 1e-9 relative
# change in the log-likelihood, so that the stored values are the estimates themselves.
ctrl <- coxph.control(eps = 1e-14, toler.chol = 1e-15, iter.max = 100)

# 1. Data ------------------------------------------------------------------------------------
# SYNTHETIC: 50 runners, 5-12 intervals each of 1-4 whole days from day 0, so that event times
# are tied (several runners' first PFP on the same day) and intervals start exactly at other
# runners' event times (the risk set is start < t <= stop). A 4-level state with reference
# "<=10%", a runner-level BMI, per-row distance and duration. At most one event per runner, on
# the runner's last row (time at risk ends at the first PFP).
set.seed(20250711)
states <- c("<=10%", ">10-30%", ">30-100%", ">100%")
rows <- list()
for (i in 1:50) {
  k <- sample(5:12, 1)
  len <- sample(1:4, k, replace = TRUE)
  stop <- cumsum(len)
  start <- c(0, head(stop, -1))
  state <- sample(states, k, replace = TRUE, prob = c(0.45, 0.2, 0.2, 0.15))
  bmi <- round(rnorm(1, 23, 3), 1)
  hr <- c(1, 1.6, 2.2, 3)[match(state, states)] * exp(0.08 * (bmi - 23))
  event <- rbinom(k, 1, 1 - exp(-0.035 * len * hr))
  first <- which(event == 1)[1]
  keep <- if (is.na(first)) seq_len(k) else seq_len(first)
  event <- as.integer(seq_along(keep) == first & !is.na(first))
  distance <- round(runif(length(keep), 4, 14) * len[keep] / 2, 2)
  rows[[i]] <- data.frame(
    runner_id = sprintf("R%02d", i), start_day = start[keep], stop_day = stop[keep],
    event = event, session_state = state[keep], bmi = bmi, distance_km = distance,
    duration_min = round(distance * runif(length(keep), 5, 6.5), 1)
  )
}
d <- do.call(rbind, rows)
write.csv(d, "tests/models/reference/data/cox_sessions.csv", row.names = FALSE)
d <- read.csv("tests/models/reference/data/cox_sessions.csv")
d$session_state <- factor(d$session_state, levels = states)

out$data <- list(
  file = "cox_sessions.csv", n = nrow(d), n_events = sum(d$event),
  n_clusters = length(unique(d$runner_id)),
  distinct_event_times = length(unique(d$stop_day[d$event == 1])),
  events_per_level = as.list(tapply(d$event, d$session_state, sum)),
  person_days_per_level = as.list(tapply(d$stop_day - d$start_day, d$session_state, sum)),
  km_per_level = as.list(tapply(d$distance_km, d$session_state, sum))
)

# 2. Fits ------------------------------------------------------------------------------------
terms <- c(">10-30%", ">30-100%", ">100%", "bmi")
summarise <- function(fit, robust) {
  s <- summary(fit)$coefficients
  ci <- confint(fit)  # Wald, normal quantiles, from fit$var (robust when clustered)
  res <- list(
    coef = unname(coef(fit)), var = unname(fit$var),
    se = unname(sqrt(diag(fit$var))),
    loglik = fit$loglik, n = fit$n, nevent = fit$nevent,
    p_value = unname(s[, "Pr(>|z|)"]),
    ci_low = unname(ci[, 1]), ci_high = unname(ci[, 2]),
    ci90_low = unname(confint(fit, level = 0.90)[, 1]),
    ci90_high = unname(confint(fit, level = 0.90)[, 2]),
    score_residuals = unname(residuals(fit, type = "score"))
  )
  if (robust) {
    res$naive_var <- unname(fit$naive.var)
    res$se_naive <- unname(sqrt(diag(fit$naive.var)))
  }
  res
}
fits <- list()
for (ties in c("efron", "breslow")) {
  plain <- coxph(Surv(start_day, stop_day, event) ~ session_state + bmi, data = d,
                 ties = ties, control = ctrl)
  clustered <- coxph(Surv(start_day, stop_day, event) ~ session_state + bmi +
                       cluster(runner_id), data = d, ties = ties, control = ctrl)
  fits[[ties]] <- summarise(plain, FALSE)
  fits[[paste0(ties, "_cluster")]] <- summarise(clustered, TRUE)
}
out$terms <- terms
out$fits <- fits

# 3. Edge cases ------------------------------------------------------------------------------
# (a) a single event (the first event row only), BMI alone, clustered
single <- d
single$event[-which(d$event == 1)[1]] <- 0
f1 <- coxph(Surv(start_day, stop_day, event) ~ bmi + cluster(runner_id), data = single,
            control = ctrl)
write.csv(transform(single, session_state = as.character(session_state)),
          "tests/models/reference/data/cox_single_event.csv", row.names = FALSE)
out$single_event <- c(list(file = "cox_single_event.csv", formula = "bmi"),
                      summarise(f1, TRUE))
# (b) one level without events: no event in ">100%". coxph's estimate for that level runs
#     off towards -Inf ("coefficient may be infinite"); its limit is the fit without that
#     level's rows, whose other coefficients are stored here.
zero <- d
zero$event[zero$session_state == ">100%"] <- 0
zf <- suppressWarnings(coxph(Surv(start_day, stop_day, event) ~ session_state + bmi +
                               cluster(runner_id), data = zero, control = ctrl))
sub <- droplevels(zero[zero$session_state != ">100%", ])
zs <- coxph(Surv(start_day, stop_day, event) ~ session_state + bmi + cluster(runner_id),
            data = sub, control = ctrl)
write.csv(transform(zero, session_state = as.character(session_state)),
          "tests/models/reference/data/cox_zero_level.csv", row.names = FALSE)
out$zero_level <- list(
  file = "cox_zero_level.csv", level = ">100%",
  coxph_full_coef = unname(coef(zf)), coxph_full_se = unname(sqrt(diag(zf$var))),
  without_level = summarise(zs, TRUE)
)
# (c) one cluster: the robust variance is the outer product of the total score, which is 0 at
#     the estimates; coxph itself fails (its Wald test on that variance), which is why
#     fit_cox refuses a single cluster. The error message is stored.
one <- d
one$runner_id <- "R00"
out$one_cluster <- list(coxph_error = tryCatch({
  coxph(Surv(start_day, stop_day, event) ~ session_state + bmi + cluster(runner_id),
        data = one, control = ctrl)
  "no error"
}, error = function(e) conditionMessage(e)))

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/models/reference/cox_survival.json")
