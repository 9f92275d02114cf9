"""The operators of the Sparkify pipeline: select, stage, load (into shadow tables), audit, publish."""

from sparkify.operators.data_quality import DataQualityOperator
from sparkify.operators.load_dimension import LoadDimensionOperator
from sparkify.operators.load_fact import LoadFactOperator
from sparkify.operators.publish import Publication, PublishOperator
from sparkify.operators.select_new_objects import SelectNewObjectsOperator
from sparkify.operators.stage_to_redshift import StageToRedshiftOperator
from sparkify.operators.wait_for_files import WindowFilesSensor

__all__ = [
    "DataQualityOperator",
    "LoadDimensionOperator",
    "LoadFactOperator",
    "Publication",
    "PublishOperator",
    "SelectNewObjectsOperator",
    "StageToRedshiftOperator",
    "WindowFilesSensor",
]
