# Reference values for tests/test_models_reference.py, from R's established implementations.
#   Rscript tests/models/reference/models.R      (writes tests/models/reference/models.json)
# Needs Debian's r-base-core r-cran-mass r-cran-proc r-cran-sandwich r-cran-geepack r-cran-jsonlite
suppressPackageStartupMessages({
  library(MASS); library(splines); library(pROC); library(sandwich); library(geepack)
  library(jsonlite)
})
out <- list(R = R.version.string)
demo <- read.csv("src/pfps_stats/data/demo_cohort.csv")

# 1. ML logistic regression: glm, MASS profile CIs, exact profile limits, LR p-values --------
vars <- c("pfp", "bmi", "q_angle_deg", "weekly_km", "hip_abd_strength_nkg",
          "knee_ext_strength_nmkg", "sex")
mil <- na.omit(demo[demo$subgroup == "military", vars])
f1 <- glm(pfp ~ bmi + q_angle_deg + weekly_km + hip_abd_strength_nkg + knee_ext_strength_nmkg +
            sex, family = binomial, data = mil)
prof <- suppressMessages(confint(f1))             # MASS: profile, interpolated
exact_limits <- function(fit, term, level = 0.95) {  # roots of the profile deviance
  cut <- qchisq(level, 1); X <- model.matrix(fit); y <- fit$y; b <- coef(fit)[term]
  se <- sqrt(diag(vcov(fit)))[term]; others <- X[, colnames(X) != term, drop = FALSE]
  dev <- function(v) glm.fit(others, y, offset = v * X[, term], family = binomial(),
                             control = glm.control(epsilon = 1e-14, maxit = 100))$deviance
  g <- function(v) dev(v) - deviance(fit) - cut
  c(uniroot(g, c(b - 8 * se, b), tol = 1e-12)$root, uniroot(g, c(b, b + 8 * se), tol = 1e-12)$root)
}
f1 <- update(f1, control = glm.control(epsilon = 1e-14, maxit = 100))
exact <- t(sapply(names(coef(f1)), function(t) exact_limits(f1, t)))
lrt <- drop1(f1, test = "LRT")
out$glm <- list(terms = names(coef(f1)), coef = unname(coef(f1)),
                se = unname(sqrt(diag(vcov(f1)))), loglik = as.numeric(logLik(f1)),
                mass_low = unname(prof[, 1]), mass_high = unname(prof[, 2]),
                exact_low = unname(exact[, 1]), exact_high = unname(exact[, 2]),
                lrt_terms = rownames(lrt)[-1], lrt_p = unname(lrt[-1, "Pr(>Chi)"]),
                n = nrow(mil), prob = unname(fitted(f1)), y = mil$pfp)

# 2. B-spline and interaction: bs() as patsy's bs(), non-linearity LR test ------------------
ado <- na.omit(demo[demo$subgroup == "adolescent", c("pfp", "weekly_km", "sex",
                                                     "hip_abd_strength_nkg")])
f2 <- glm(pfp ~ bs(weekly_km, df = 4) + sex * hip_abd_strength_nkg, family = binomial, data = ado,
          control = glm.control(epsilon = 1e-14, maxit = 100))
f2lin <- update(f2, . ~ weekly_km + sex * hip_abd_strength_nkg)
nl <- anova(f2lin, f2, test = "LRT")
out$spline <- list(coef = unname(coef(f2)), loglik = as.numeric(logLik(f2)),
                   nonlinear_chi2 = nl$Deviance[2], nonlinear_df = nl$Df[2],
                   nonlinear_p = nl$`Pr(>Chi)`[2], n = nrow(ado))

# 3. pROC: AUC and DeLong CI of the ML model's fitted risks --------------------------------
r <- roc(mil$pfp, fitted(f1), levels = c(0, 1), direction = "<", quiet = TRUE)
ci <- ci.auc(r, method = "delong")
out$proc <- list(auc = as.numeric(auc(r)), ci_low = ci[1], ci_high = ci[3],
                 var = var(r, method = "delong"))

# 4. Hosmer-Lemeshow, computed as ResourceSelection::hoslem.test (not packaged in Debian):
#    groups cut at unique type-7 quantiles, right-closed, include.lowest; df = g - 2.
hoslem <- function(y, yhat, g = 10) {
  qq <- unique(quantile(yhat, probs = seq(0, 1, 1 / g)))
  cutyhat <- cut(yhat, breaks = qq, include.lowest = TRUE)
  observed <- xtabs(cbind(y0 = 1 - y, y1 = y) ~ cutyhat)
  expected <- xtabs(cbind(yhat0 = 1 - yhat, yhat1 = yhat) ~ cutyhat)
  chisq <- sum((observed - expected)^2 / expected)
  c(statistic = chisq, p = 1 - pchisq(chisq, g - 2))
}
hl <- hoslem(mil$pfp, fitted(f1))
out$hoslem <- list(statistic = unname(hl[1]), p = unname(hl[2]))
# calibration as rms val.prob: lrm(y ~ logit) on the fitted risks of a *different* model
f_small <- glm(pfp ~ bmi, family = binomial, data = mil)
lp_other <- qlogis(fitted(f_small) * 0.8 + 0.02)
cal <- coef(glm(mil$pfp ~ lp_other, family = binomial, control = glm.control(epsilon = 1e-14)))
out$calibration <- list(prob = unname(plogis(lp_other)), intercept = unname(cal[1]),
                        slope = unname(cal[2]))

# 5. Incidence: Clopper-Pearson (binom.test) and Wilson (prop.test without correction) -----
inc <- lapply(split(demo$pfp, demo$subgroup), function(y) {
  k <- sum(y); n <- length(y)
  c(n = n, events = k, binom.test(k, n)$conf.int, prop.test(k, n, correct = FALSE)$conf.int)
})
out$incidence <- lapply(inc, unname)

# 6. Table 1 tests -------------------------------------------------------------------------
d0 <- demo[demo$pfp == 0, ]; d1 <- demo[demo$pfp == 1, ]
out$table_one <- list(
  welch_bmi = t.test(d1$bmi, d0$bmi)$p.value,
  wilcoxon_weekly_km = wilcox.test(d1$weekly_km, d0$weekly_km, exact = FALSE)$p.value,
  chisq_subgroup = chisq.test(table(demo$subgroup, demo$pfp), correct = FALSE)$p.value,
  chisq_sex = chisq.test(table(demo$sex, demo$pfp), correct = FALSE)$p.value)
small <- demo[demo$subgroup == "recreational", ][1:60, ]
out$table_one$fisher_sex_small <- fisher.test(table(small$sex, small$pfp))$p.value

# 7. Clustered knees: cluster-robust (sandwich::vcovCL, HC1) and GEE exchangeable ---------
knees <- read.csv("tests/models/reference/data/knees.csv")
knees <- knees[order(knees$runner_id), ]
f3 <- glm(pfp ~ q_angle_deg + knee_ext_strength_nmkg, family = binomial, data = knees,
          control = glm.control(epsilon = 1e-14, maxit = 100))
vc <- vcovCL(f3, cluster = ~runner_id, type = "HC1")
knees$id <- as.integer(factor(knees$runner_id))
g3 <- geeglm(pfp ~ q_angle_deg + knee_ext_strength_nmkg, family = binomial, data = knees,
             id = id, corstr = "exchangeable")
out$cluster <- list(coef = unname(coef(f3)), robust_se = unname(sqrt(diag(vc))),
                    gee_coef = unname(coef(g3)), gee_se = unname(summary(g3)$coefficients[, 2]),
                    gee_alpha = unname(g3$geese$alpha))

write_json(out, "tests/models/reference/models.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
