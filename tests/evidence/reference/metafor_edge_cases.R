# Reference values for tests/evidence/test_meta_edge_cases.py: what metafor 3.8.1 does at the edges
# (identical effects with Knapp-Hartung, one study, missing values, escalc's checks), and the
# local-vs-published difference test and common-effect pool for BMI on the SYNTHETIC demo cohort.
# Run from the repository root:
#   Rscript tests/evidence/reference/metafor_edge_cases.R
# (writes tests/evidence/reference/metafor_edge_cases.json)
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
out <- list(R = R.version.string, metafor = as.character(packageVersion("metafor")))
ctl <- list(threshold = 1e-10, tol = 1e-12, maxiter = 1000)
warnings_of <- function(expr) {
  seen <- character()
  value <- withCallingHandlers(expr, warning = function(w) {
    seen <<- c(seen, conditionMessage(w)); invokeRestart("muffleWarning")})
  list(value = value, warnings = seen)
}
summ <- function(f) {
  p <- predict(f)
  list(estimate = as.numeric(coef(f)), se = f$se, ci_low = f$ci.lb, ci_high = f$ci.ub,
       p_value = f$pval, pi_low = p$pi.lb, pi_high = p$pi.ub, tau2 = f$tau2, i2 = f$I2,
       h2 = f$H2, q = f$QE, q_p = f$QEp, k = f$k, test = f$test)
}

# 1. Identical effects, Knapp-Hartung: the residual sum of squares is 0, so se = 0 and the CI
#    collapses to the estimate (t = Inf, p = 0). With every yi = 0, t = 0/0: NaN, p NaN.
identical <- list()
for (method in c("REML", "DL", "PM")) {
  f <- rma(yi = c(0.2, 0.2, 0.2), vi = c(0.01, 0.02, 0.03), method = method, test = "knha",
           control = ctl)
  s <- summ(f)
  ci <- confint(f, control = list(tol = 1e-12))$random
  s$tau2_ci_low <- ci["tau^2", "ci.lb"]; s$tau2_ci_high <- ci["tau^2", "ci.ub"]
  identical[[method]] <- s
}
out$knha_identical <- list(yi = c(0.2, 0.2, 0.2), vi = c(0.01, 0.02, 0.03), fits = identical)
zero <- rma(yi = c(0, 0, 0), vi = c(0.01, 0.02, 0.03), test = "knha", control = ctl)
out$knha_all_zero <- list(yi = c(0, 0, 0), vi = c(0.01, 0.02, 0.03), estimate = as.numeric(coef(zero)),
                          se = zero$se, p_value = zero$pval, ci_low = zero$ci.lb, ci_high = zero$ci.ub)

# 2. One study: rma reports the study itself (z interval); with test = "knha" it warns and
#    switches to z; confint stops ("k = 1"); predict gives pi = ci since tau2 is set to 0.
k1 <- list()
for (test in c("z", "knha")) {
  r <- warnings_of(rma(yi = 0.3, vi = 0.04, test = test, control = ctl))
  s <- summ(r$value)
  s$warnings <- r$warnings
  s$confint_error <- tryCatch({confint(r$value); ""}, error = function(e) conditionMessage(e))
  k1[[test]] <- s
}
out$k1 <- list(yi = 0.3, vi = 0.04, fits = k1)

# 3. Missing values: rma omits studies with NA yi or vi, with a warning.
r <- warnings_of(rma(yi = c(0.1, NA, 0.3, 0.2, -0.1), vi = c(0.01, 0.02, NA, 0.03, 0.015),
                     control = ctl))
out$na <- c(list(yi = c(0.1, NA, 0.3, 0.2, -0.1), vi = c(0.01, 0.02, NA, 0.03, 0.015),
                 warnings = r$warnings), summ(r$value))

# 4. escalc: a negative standard deviation stops; an all-zero 2x2 table (no participants)
#    gives yi = 0, vi = 8 (log OR) by default, NA with drop00 = TRUE (which also drops a table
#    with no events in either group: study 3 here).
out$negative_sd_error <- tryCatch({
  escalc("SMD", m1i = c(1, 2, 3), sd1i = c(1, -1, 1), n1i = c(10, 10, 10), m2i = c(0, 0, 0),
         sd2i = c(1, 1, -2), n2i = c(10, 10, 10)); ""
}, error = function(e) conditionMessage(e))
tab <- data.frame(ai = c(5, 0, 0, 4), bi = c(10, 0, 10, 10), ci = c(3, 0, 0, 2), di = c(12, 0, 12, 12))
escalc_zero <- list(table = tab)
for (measure in c("OR", "RR")) for (drop00 in c(FALSE, TRUE)) {
  es <- escalc(measure, ai = ai, bi = bi, ci = ci, di = di, data = tab, drop00 = drop00)
  escalc_zero[[paste0(measure, if (drop00) "_drop00" else "_default")]] <-
    list(yi = as.numeric(es$yi), vi = as.numeric(es$vi))
}
out$escalc_all_zero <- escalc_zero

# 5. BMI on the SYNTHETIC demo cohort (all subgroups) against Hart 2017's prospective SMD,
#    0.34 (-0.04, 0.71): Hedges' g (PFP minus no PFP), the difference local - published with
#    se sqrt(se_local^2 + se_published^2), se_published = (high - low) / (2 qnorm(0.975)),
#    its 95% CI and two-sided z test; and the common-effect (inverse-variance) pool of the two.
demo <- read.csv("src/pfps_stats/data/demo_cohort.csv")
demo <- demo[!is.na(demo$bmi) & !is.na(demo$pfp), ]
a <- demo$bmi[demo$pfp == 1]; b <- demo$bmi[demo$pfp == 0]
g <- escalc("SMD", m1i = mean(a), sd1i = sd(a), n1i = length(a), m2i = mean(b), sd2i = sd(b),
            n2i = length(b))
pub <- c(estimate = 0.34, low = -0.04, high = 0.71)
pub_se <- (pub[["high"]] - pub[["low"]]) / (2 * qnorm(0.975))
d <- as.numeric(g$yi) - pub[["estimate"]]
d_se <- sqrt(as.numeric(g$vi) + pub_se^2)
z <- d / d_se
pool <- rma(yi = c(pub[["estimate"]], as.numeric(g$yi)), vi = c(pub_se^2, as.numeric(g$vi)),
            method = "EE")
out$bmi_demo <- list(n = nrow(demo), events = length(a), smd = as.numeric(g$yi),
                     smd_vi = as.numeric(g$vi), published_se = pub_se, difference = d,
                     difference_low = d - qnorm(0.975) * d_se,
                     difference_high = d + qnorm(0.975) * d_se,
                     difference_z = z, difference_p = 2 * pnorm(-abs(z)),
                     updated_smd = as.numeric(coef(pool)), updated_low = pool$ci.lb,
                     updated_high = pool$ci.ub, updated_method = pool$method)
write_json(out, "tests/evidence/reference/metafor_edge_cases.json", digits = NA,
           auto_unbox = TRUE, pretty = TRUE, na = "null")
