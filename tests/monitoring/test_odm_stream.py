"""The full ODM export is streamed: memory does not grow with the number of patients."""
import pathlib
import tracemalloc

import pytest
from lxml import etree

from monitoring import exports
from patients.models import Patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

ODM_SCHEMA = pathlib.Path(__file__).parent.parent / "data" / "odm-1.3.2" / "ODM1-3-2.xsd"


def _peak_bytes_streaming(patients, protocol) -> tuple[int, int]:
    """(peak traced Python memory, bytes written) while the export is read and thrown away."""
    list(exports.odm_stream(patients=patients, protocol=protocol, chunk_patients=5))  # warm imports and caches
    tracemalloc.start()
    written = 0
    try:
        for part in exports.odm_stream(patients=patients, protocol=protocol, chunk_patients=5):
            written += len(part)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, written


def test_odm_export_of_40_patients_needs_no_more_memory_than_of_10(protocol, site_sz):
    patients = PatientFactory.create_batch(40, site=site_sz, protocol=protocol)
    ten = Patient.objects.filter(pk__in=[p.pk for p in patients[:10]])
    peak_10, written_10 = _peak_bytes_streaming(ten, protocol)
    peak_40, written_40 = _peak_bytes_streaming(Patient.objects.all(), protocol)
    assert written_40 - written_10 > 30 * 4000  # 30 more patients went through (~5 kB each)…
    print(f"peak {peak_10:,} B for 10 patients, {peak_40:,} B for 40")
    assert peak_40 < 1.3 * peak_10, (peak_10, peak_40)  # …in the memory of one chunk, not of the whole file
    # and what streamed out is still a valid ODM 1.3.2 file with every subject
    document = etree.fromstring(exports.odm_document(patients=Patient.objects.all(), protocol=protocol))
    schema = etree.XMLSchema(etree.parse(str(ODM_SCHEMA)))
    assert schema.validate(document), schema.error_log
    subjects = document.xpath("//odm:SubjectData/@SubjectKey", namespaces={"odm": exports.ODM_NS})
    assert sorted(subjects) == sorted(p.study_id for p in patients)
