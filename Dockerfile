FROM python:3.11-slim-bookworm

# Pango for WeasyPrint's PDFs (HarfBuzz-Subset to embed only the glyphs used); DejaVu for Latin text and Noto
# CJK for Chinese (docs/i18n.md);
# gettext compiles the translations.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-noto-cjk gettext \
 && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN SECRET_KEY=build python manage.py collectstatic --noinput \
 && SECRET_KEY=build python manage.py compilemessages --verbosity 0

RUN useradd --create-home edc && mkdir -p /app/media && chown edc /app/media
USER edc
EXPOSE 8000
# --timeout: a few downloads are built in the request (the ODM export, the API's SDTM and ADaM packages: about a
# minute at 10,000 patients, docs/performance.md), longer than gunicorn's 30-second default allows a sync worker.
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "300"]
