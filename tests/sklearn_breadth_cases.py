"""The families added for breadth (linear variants, GLMs, naive Bayes, discriminant
analysis, clustering, mixtures, outlier detectors, meta-estimators, decomposition and
selection), each on small real data, in the format of ``sklearn_cases.CASES``."""

from __future__ import annotations

import pytest
from sklearn import linear_model as lm
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis, QuadraticDiscriminantAnalysis
from sklearn.naive_bayes import BernoulliNB, CategoricalNB, ComplementNB, MultinomialNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def case(factory, dataset: str, variant: str = "", marks=()):
    """``pytest.param(factory, dataset)`` with an id naming the class, variant and dataset."""
    label = "-".join(p for p in (type(factory()).__name__, variant, dataset) if p)
    return pytest.param(factory, dataset, id=label, marks=marks)


def scaled(make):
    return lambda: make_pipeline(StandardScaler(), make())


BREADTH_CASES = [
    # linear regressors sharing X @ coef_.T + intercept_
    case(lm.RidgeCV, "diabetes"),
    case(lambda: lm.LassoCV(cv=3), "diabetes"),
    case(lambda: lm.ElasticNetCV(cv=3), "diabetes"),
    case(lm.Lars, "diabetes"),
    case(lambda: lm.LarsCV(cv=3), "diabetes"),
    case(lambda: lm.LassoLars(alpha=0.01), "diabetes"),
    case(lambda: lm.LassoLarsCV(cv=3), "diabetes"),
    case(lm.LassoLarsIC, "diabetes"),
    case(lm.OrthogonalMatchingPursuit, "diabetes"),
    case(lambda: lm.OrthogonalMatchingPursuitCV(cv=3), "diabetes"),
    case(lm.BayesianRidge, "diabetes"),
    case(lm.ARDRegression, "diabetes"),
    case(lm.HuberRegressor, "diabetes"),
    case(lambda: lm.QuantileRegressor(alpha=0.0), "diabetes"),
    case(lambda: lm.TheilSenRegressor(random_state=0, max_subpopulation=200), "diabetes"),
    case(lambda: lm.PassiveAggressiveRegressor(random_state=0), "diabetes"),
    case(lambda: lm.MultiTaskLasso(alpha=0.1), "diabetes_two_targets"),
    case(lambda: lm.MultiTaskLassoCV(cv=3), "diabetes_two_targets"),
    case(lambda: lm.MultiTaskElasticNet(alpha=0.01), "diabetes_two_targets"),
    case(lambda: lm.MultiTaskElasticNetCV(cv=3), "diabetes_two_targets"),
    case(lambda: lm.RANSACRegressor(random_state=0), "diabetes"),
    case(lm.PoissonRegressor, "diabetes_positive"),
    case(lm.GammaRegressor, "diabetes_positive"),
    case(lambda: lm.TweedieRegressor(power=1.5), "diabetes_positive"),
    # linear classifiers and the one-class SVM
    case(scaled(lambda: lm.Perceptron(random_state=0)), "wine"),
    case(scaled(lambda: lm.PassiveAggressiveClassifier(random_state=0)), "breast_cancer"),
    case(lm.RidgeClassifierCV, "iris"),
    case(lambda: lm.LogisticRegressionCV(cv=3, max_iter=2000), "iris"),
    case(scaled(lambda: lm.SGDOneClassSVM(nu=0.2, random_state=0)), "wine"),
    # naive Bayes on pixel counts
    case(MultinomialNB, "digits"),
    case(ComplementNB, "digits"),
    case(lambda: BernoulliNB(binarize=4.0), "digits"),
    case(lambda: CategoricalNB(min_categories=17), "digits"),
    # discriminant analysis
    case(LinearDiscriminantAnalysis, "wine"),
    case(LinearDiscriminantAnalysis, "breast_cancer"),
    case(lambda: LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto"), "iris", "eigen"),
    case(QuadraticDiscriminantAnalysis, "iris"),
    case(lambda: QuadraticDiscriminantAnalysis(reg_param=0.1), "breast_cancer"),
]
