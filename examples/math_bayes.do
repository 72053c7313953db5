* The seed analysis from start to finish: the frequentist model, then the same model by MCMC
* with Stata's default priors, its diagnostics, three chains, four prior choices compared by
* DIC, and posterior summaries and tests.   multilevel run examples/math_bayes.do
use math, clear
describe
mixed math homework i.schtype || schid: homework, covariance(unstructured)
estat sd
predict u*, reffects reses(s*)
egen tagme = tag(schid)
egen rank = rank(u2) if tagme
serrbar u2 s2 rank if tagme, scale(1.96)

// Bayesian multilevel model with default priors
bayes, rseed(317) melabel: ///
    mixed math homework i.schtype || schid: homework, covariance(unstructured)
bayes, melabel hpd showreffects
bayesgraph diagnostics {math:homework}
bayesstats ess

// three chains
bayes, rseed(317) burnin(5000) mcmcsize(15000) nchains(3): ///
    mixed math homework i.schtype || schid: homework, cov(un)
bayes, melabel
bayesstats grubin

// four prior choices, compared by DIC
bayes, rseed(317): ///
    mixed math homework i.schtype || schid: homework, covariance(unstructured)
estimates store m1
bayes, rseed(317) normalprior(5): ///
    mixed math homework i.schtype || schid: homework, covariance(unstructured)
estimates store m2
bayes, rseed(317) iwishartprior(10): ///
    mixed math homework i.schtype || schid: homework, covariance(unstructured)
estimates store m3
bayes, rseed(317) prior({e.math:sigma2}, jeffreys): ///
    mixed math homework i.schtype || schid: homework, covariance(unstructured)
estimates store m4
bayesstats ic m*, diconly

// postestimation on the first model
estimates restore m1
bayesstats summary (corr:{U:Sigma_2_1}/sqrt({U:Sigma_1_1}*{U:Sigma_2_2}))
bayestest interval {math:1.schtype}, upper(0)
